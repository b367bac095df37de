"""Plans: what a reseller sells, for how long and for how many credits."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import StateConflict, ValidationError
from apps.core.validation import whole_number

from ..models import (
    Plan,
    PlanPrice,
    PlanStatus,
    ServiceAccount,
)

MAX_MONTHS = 120



def _validate_prices(prices: dict[str, int]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for currency, amount in prices.items():
        validate_currency(currency, param="prices")
        clean[currency] = whole_number(
            amount, field="prices", minimum=0, code="invalid_amount",
            message=f"The {currency} price is a whole number of minor units, zero or more.",
        )
    return clean


def _validate_plan_numbers(duration_months: object, credit_cost: object) -> None:
    whole_number(credit_cost, field="credit_cost", minimum=1, code="invalid_amount")
    if whole_number(duration_months, field="duration_months", minimum=1,
                    code="invalid_amount") > MAX_MONTHS:
        raise ValidationError(
            f"A plan lasts at most {MAX_MONTHS} months.", code="invalid_amount",
            param="duration_months",
        )


@transaction.atomic
def plan_create(
    *,
    actor: Actor,
    reseller: Reseller,
    name: str,
    duration_months: int = 1,
    credit_cost: int | None = None,
    tier: str = "",
    is_trial: bool = False,
    prices: dict[str, int] | None = None,
) -> Plan:
    """A plan; its credit cost defaults to one credit per month."""
    authorize(actor, reseller, Perm.PLAN_MANAGE)
    if not name or not name.strip():
        raise ValidationError("A plan needs a name.", code="required", param="name")
    credit_cost = duration_months if credit_cost is None else credit_cost
    _validate_plan_numbers(duration_months, credit_cost)
    clean_prices = _validate_prices(prices or {})
    if Plan.objects.filter(reseller=reseller, name=name.strip()).exists():
        raise ValidationError(f"A plan named {name!r} exists.", code="plan_name_taken",
                              param="name")
    plan = Plan.objects.create(
        reseller=reseller,
        name=name.strip(),
        tier=tier,
        duration_months=duration_months,
        credit_cost=credit_cost,
        is_trial=is_trial,
    )
    PlanPrice.objects.bulk_create(
        PlanPrice(plan=plan, currency=c, amount=a) for c, a in clean_prices.items()
    )
    audit_record(
        actor=actor, reseller_id=reseller.pk, action="plan.create", obj=plan,
        after={**snapshot(plan, ["name", "tier", "duration_months", "credit_cost", "is_trial"]),
               "prices": clean_prices},
    )
    return plan


@transaction.atomic
def plan_update(
    *,
    actor: Actor,
    plan: Plan,
    name: str | None = None,
    tier: str | None = None,
    credit_cost: int | None = None,
    is_trial: bool | None = None,
    prices: dict[str, int] | None = None,
) -> Plan:
    """Change a plan. The duration is fixed once made; a new cost applies from the next renewal."""
    authorize(actor, plan.reseller_id, Perm.PLAN_MANAGE)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    fields = ["name", "tier", "credit_cost", "is_trial"]
    before = {**snapshot(plan, fields), "prices": _prices_of(plan)}
    if name is not None:
        if not name.strip():
            raise ValidationError("A plan needs a name.", code="required", param="name")
        if Plan.objects.filter(reseller_id=plan.reseller_id, name=name.strip()).exclude(
            pk=plan.pk
        ).exists():
            raise ValidationError(f"A plan named {name!r} exists.", code="plan_name_taken",
                                  param="name")
        plan.name = name.strip()
    if tier is not None:
        plan.tier = tier
    if credit_cost is not None:
        _validate_plan_numbers(plan.duration_months, credit_cost)
        plan.credit_cost = credit_cost
    if is_trial is not None:
        plan.is_trial = is_trial
    plan.save()
    if prices is not None:
        clean = _validate_prices(prices)
        PlanPrice.objects.filter(plan=plan).exclude(currency__in=list(clean)).delete()
        for currency, amount in clean.items():
            PlanPrice.objects.update_or_create(
                plan=plan, currency=currency, defaults={"amount": amount}
            )
    audit_record(
        actor=actor, reseller_id=plan.reseller_id, action="plan.update", obj=plan,
        before=before, after={**snapshot(plan, fields), "prices": _prices_of(plan)},
    )
    return plan


def _prices_of(plan: Plan) -> dict[str, int]:
    return dict(PlanPrice.objects.filter(plan=plan).values_list("currency", "amount"))


@transaction.atomic
def plan_archive(*, actor: Actor, plan: Plan, archived: bool = True) -> Plan:
    """Archive (or restore) a plan: it stays on the accounts that use it, but sells no more."""
    authorize(actor, plan.reseller_id, Perm.PLAN_MANAGE)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    before = plan.status
    plan.status = PlanStatus.ARCHIVED if archived else PlanStatus.ACTIVE
    plan.save(update_fields=["status"])
    audit_record(
        actor=actor, reseller_id=plan.reseller_id,
        action="plan.archive" if archived else "plan.unarchive", obj=plan,
        before={"status": before}, after={"status": plan.status},
    )
    return plan


@transaction.atomic
def plan_delete(*, actor: Actor, plan: Plan) -> None:
    """Delete a plan no account has ever used; a plan in use can only be archived."""
    authorize(actor, plan.reseller_id, Perm.PLAN_MANAGE)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if ServiceAccount.objects.filter(plan=plan).exists() or ServiceAccount.objects.filter(
        next_plan=plan
    ).exists():
        raise StateConflict(
            "This plan is used by accounts: archive it instead.", code="plan_in_use",
            param="plan",
        )
    audit_record(
        actor=actor, reseller_id=plan.reseller_id, action="plan.delete", obj=plan,
        before=snapshot(plan, ["name", "duration_months", "credit_cost"]),
    )
    plan.delete()


