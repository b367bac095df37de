"""Service accounts and their lifecycle.

Lock order, everywhere credits move: the reseller row first, then the
account row. Every accepted transition writes an AccountEvent and an audit
row; a refused one raises a DomainError and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ReactivationPolicy, Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core import catalogue, crypto
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.dates import add_months, whole_months_between
from apps.core.db import fetch_one, insert_instance, retrying_deadlocks, update_instance
from apps.core.errors import (
    DomainError,
    InsufficientCredits,
    NotFound,
    StateConflict,
    ValidationError,
)
from apps.core.events import memoized, publish, publishing_many, remember
from apps.core.validation import whole_number
from apps.credits.models import EntryKind
from apps.credits.services import credits_deduct

from .. import states
from ..credentials import generate_password, generate_username, validate_username
from ..guards import check_no_payment_in_flight
from ..models import (
    AccountEvent,
    AccountStatus,
    EventAction,
    OperationKind,
    OperationStatus,
    PendingOperation,
    PendingReason,
    Plan,
    PlanStatus,
    ServiceAccount,
    Subscriber,
)
from .plans import MAX_MONTHS
from .settings import validate_renewal_source
from .subscribers import subscriber_create

ACCOUNT_AUDIT_FIELDS = [
    "status",
    "pending_reason",
    "plan_id",
    "next_plan_id",
    "starts_at",
    "expires_at",
    "auto_renew",
    "renewal_period_months",
]



@dataclass(frozen=True)
class RenewResult:
    account: ServiceAccount
    # True when the renewal waits in the pending queue for credits.
    queued: bool
    credits: int
    operation: PendingOperation | None = None


def _periods(plan: Plan, months: object) -> int:
    months = whole_number(months, field="months", minimum=1, code="invalid_months",
                          message="Months is a whole number of at least 1.")
    if months > MAX_MONTHS or months % plan.duration_months:
        raise ValidationError(
            f"The {plan.name} plan is sold in periods of {plan.duration_months} "
            f"month{'' if plan.duration_months == 1 else 's'}, "
            f"up to {MAX_MONTHS} months.",
            code="invalid_months",
            param="months",
        )
    return months // plan.duration_months


def account_currency(plan: Plan, currency: str | None, *, default: str) -> str:
    """The currency an account of `plan` is paid in: `currency` if the plan is priced in it."""
    if currency is None:
        return default
    currency = validate_currency(currency, param="currency")
    if not plan.prices.filter(currency=currency).exists():
        offered = ", ".join(plan.prices.order_by("currency").values_list("currency", flat=True))
        raise ValidationError(
            f"The {plan.name} plan is not priced in {currency}"
            + (f" (it is in {offered})." if offered else "."),
            code="currency_not_offered", param="currency")
    return currency


def credits_for(plan: Plan, months: int) -> int:
    """Credits for `months` of `plan`: its cost per period times the periods."""
    return plan.credit_cost * _periods(plan, months)


# AccountEvent actions and the domain event each publishes.
PUBLISHED_EVENTS: dict[EventAction, catalogue.EventType[catalogue.AccountChanged]] = {
    EventAction.CREATE: catalogue.ACCOUNT_CREATED,
    EventAction.ACTIVATE: catalogue.ACCOUNT_ACTIVATED,
    EventAction.RENEW: catalogue.ACCOUNT_RENEWED,
    EventAction.RENEWAL_QUEUED: catalogue.ACCOUNT_RENEWAL_QUEUED,
    EventAction.EXPIRE: catalogue.ACCOUNT_EXPIRED,
    EventAction.SUSPEND: catalogue.ACCOUNT_SUSPENDED,
    EventAction.UNSUSPEND: catalogue.ACCOUNT_UNSUSPENDED,
    EventAction.TERMINATE: catalogue.ACCOUNT_TERMINATED,
    EventAction.CHANGE_PLAN: catalogue.ACCOUNT_PLAN_CHANGED,
    EventAction.SCHEDULE_PLAN_CHANGE: catalogue.ACCOUNT_PLAN_CHANGE_SCHEDULED,
    EventAction.SET_AUTO_RENEW: catalogue.ACCOUNT_AUTO_RENEW_CHANGED,
    EventAction.SET_RENEWAL: catalogue.ACCOUNT_AUTO_RENEW_CHANGED,
    EventAction.SHORTEN: catalogue.ACCOUNT_SHORTENED,
    EventAction.RESET_PASSWORD: catalogue.ACCOUNT_PASSWORD_RESET,
}


def _event(
    account: ServiceAccount,
    *,
    action: str,
    actor: Actor,
    now: dt.datetime,
    from_status: str,
    old_expires_at: dt.datetime | None = None,
    credits_moved: int = 0,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AccountEvent:
    event = AccountEvent(
        account=account,
        reseller_id=account.reseller_id,
        created_at=now,
        action=action,
        **actor.row_fields(),
        from_status=from_status,
        to_status=account.status,
        old_expires_at=old_expires_at,
        new_expires_at=account.expires_at,
        credits_moved=credits_moved,
        reason=reason,
        data=data or {},
    )
    # Prepared on PostgreSQL: two per API create (bench/api.py, b3ac8b6).
    insert_instance(event)
    publish(PUBLISHED_EVENTS[EventAction(action)].event(
        reseller_id=account.reseller_id, livemode=account.livemode,
        payload=catalogue.AccountChanged(
            account_id=account.pk, subscriber_id=account.subscriber_id, event_id=event.pk,
            from_status=from_status, to_status=account.status, now=now.isoformat(),
        ),
    ))
    return event


def _audit_account(
    actor: Actor, account: ServiceAccount, action: str, before: dict[str, Any], now: dt.datetime
) -> None:
    audit_record(
        actor=actor, reseller_id=account.reseller_id, action=f"account.{action}", obj=account,
        before=before, after=snapshot(account, ACCOUNT_AUDIT_FIELDS), now=now,
    )


def _lock(account: ServiceAccount) -> tuple[Reseller, ServiceAccount]:
    """Lock the reseller, then the account (the one lock order)."""
    reseller = Reseller.objects.select_for_update().get(pk=account.reseller_id)
    locked = ServiceAccount.objects.select_for_update(of=("self",)).select_related("plan", "next_plan").get(
        pk=account.pk
    )
    return reseller, locked


def plan_for_sale(reseller_id: int, plan_id: int) -> Plan:
    """The plan as the database has it now, if this reseller sells it.

    Read once per `publishing_many` block (an API request reads it before the
    subscriber, and account_create again).
    """
    # Prepared on PostgreSQL: part of the create path bench/api.py measured (b3ac8b6).
    plan: Plan | None = memoized(("plan", plan_id), lambda: fetch_one(Plan, id=plan_id))
    if plan is None or plan.reseller_id != reseller_id:
        raise NotFound("No such plan.", code="plan_not_found", param="plan")
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError(
            f"The plan {plan.name!r} is archived.", code="plan_archived", param="plan"
        )
    return plan


def account_create(
    *,
    actor: Actor,
    subscriber: Subscriber,
    plan: Plan,
    months: int | None = None,
    username: str | None = None,
    auto_renew: bool = True,
    currency: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ServiceAccount, str]:
    """Create an account and activate it on credits. Returns (account, password).

    `currency` is what the subscriber pays it in: one its plan is priced in
    (`currency_not_offered` otherwise); by default the reseller's base currency.

    When credits are short the account is created `pending`
    (`insufficient_credits`), nothing is deducted, and it activates by itself
    when credits arrive.
    """
    authorize(actor, subscriber.reseller_id, Perm.ACCOUNT_CREATE)
    now = now or timezone.now()
    plan = plan_for_sale(subscriber.reseller_id, plan.pk)
    months = plan.duration_months if months is None else months
    cost = credits_for(plan, months)
    currency = account_currency(plan, currency, default=subscriber.reseller.base_currency)
    if username is not None:
        validate_username(username)
    password = generate_password()

    def attempt() -> ServiceAccount | None:
        # One transaction and no savepoint per attempt: a taken username writes nothing.
        with transaction.atomic(savepoint=False), publishing_many():
            for _attempt in range(10):
                account = _account_create_once(
                    actor=actor, subscriber=subscriber, plan=plan, months=months, cost=cost,
                    username=username or generate_username(subscriber.name),
                    password=password, auto_renew=auto_renew, currency=currency, now=now,
                )
                if account is not None:
                    return account
                if username is not None:
                    break
        return None

    # Creates racing for the last credits can deadlock on the reseller's row (the
    # optimistic deduction, then the look again under its lock, while each already holds
    # the row's foreign-key share lock): PostgreSQL rolls one back, and it runs again.
    created = retrying_deadlocks(attempt)
    if created is not None:
        return created, password
    # Raised outside the block: the caller's transaction stays usable.
    if username is not None:
        raise ValidationError(f"The username {username!r} is taken.", code="username_taken",
                              param="username")
    raise RuntimeError("Could not generate a free username in 10 attempts.")


@dataclass(frozen=True)
class SubscriberDetails:
    """The subscriber a new account is for, when it is not an existing subscriber's id."""

    external_id: str | None = None
    email: str = ""
    name: str = ""
    # The new subscriber's email language (None: the reseller's); an existing one keeps its own.
    language: str | None = None
    # Reuse the reseller's subscriber with this external id, else this email (an external
    # billing system's create); off, a new subscriber is always made (the dashboard's form
    # asks for a new one by name).
    match_existing: bool = True


def account_open(
    *,
    actor: Actor,
    reseller: Reseller,
    subscriber: int | SubscriberDetails,
    plan_id: int,
    livemode: bool = True,
    months: int | None = None,
    username: str | None = None,
    renewal_source: str | None = None,
    currency: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ServiceAccount, str]:
    """Open an account: the subscriber (by id, or found or created from its details), then
    the account, activated on credits or queued, and who collects at its auto-renewal.

    One transaction: a refusal at any step (an unknown plan or subscriber, a taken
    username, an unknown renewal source) leaves no subscriber and no account behind.
    Returns (account, password).
    """
    authorize(actor, reseller, Perm.ACCOUNT_CREATE)
    if renewal_source is not None:
        authorize(actor, reseller, Perm.ACCOUNT_AUTO_RENEW)
    with transaction.atomic(), publishing_many():
        plan = plan_for_sale(reseller.pk, plan_id)
        if isinstance(subscriber, SubscriberDetails):
            found = _subscriber_for(actor=actor, reseller=reseller, livemode=livemode,
                                    details=subscriber, now=now)
        else:
            found = _subscriber_of(reseller, livemode=livemode, subscriber_id=subscriber)
        account, password = account_create(actor=actor, subscriber=found, plan=plan,
                                           months=months, username=username,
                                           currency=currency, now=now)
        if renewal_source is not None and account.auto_renew:
            account_set_renewal(actor=actor, account=account, source=renewal_source, now=now)
    return account, password


def _subscriber_of(reseller: Reseller, *, livemode: bool, subscriber_id: int) -> Subscriber:
    found = Subscriber.objects.filter(reseller=reseller, livemode=livemode,
                                      pk=subscriber_id).first()
    if found is None:
        raise NotFound("No such subscriber.", code="subscriber_not_found", param="subscriber")
    found.reseller = reseller
    return found


def _subscriber_for(
    *,
    actor: Actor,
    reseller: Reseller,
    livemode: bool,
    details: SubscriberDetails,
    now: dt.datetime | None,
) -> Subscriber:
    """The subscriber with this external id, else this email, else a new one."""
    external_id = (details.external_id or "").strip() or None
    email = (details.email or "").strip().lower()
    mine = Subscriber.objects.filter(reseller=reseller, livemode=livemode)
    found: Subscriber | None
    if details.match_existing:
        if external_id:
            # Prepared on PostgreSQL: every create over the API asks (bench/api.py, b3ac8b6).
            found = fetch_one(Subscriber, reseller_id=reseller.pk, livemode=livemode,
                              external_id=external_id)
            if found is not None:
                found.reseller = reseller
                return found
        elif email:
            found = mine.filter(email=email).order_by("id").first()
            if found is not None:
                return found
        if not external_id and not email:
            raise ValidationError("The subscriber needs an external_id or an email.",
                                  code="required", param="subscriber")
    name = (details.name or "").strip() or email or external_id or ""
    try:
        # No savepoint: subscriber_create refuses a taken external_id without a failed statement.
        return subscriber_create(actor=actor, reseller=reseller, name=name, email=email,
                                 external_id=external_id, language=details.language,
                                 livemode=livemode, now=now)
    except ValidationError as error:
        if error.code != "duplicate_external_id" or not details.match_existing:
            raise
    # Created by a concurrent request a moment ago.
    return mine.get(external_id=external_id)


def _account_create_once(
    *,
    actor: Actor,
    subscriber: Subscriber,
    plan: Plan,
    months: int,
    cost: int,
    username: str,
    password: str,
    auto_renew: bool,
    currency: str,
    now: dt.datetime,
) -> ServiceAccount | None:
    """The new account, or None when its username is taken (and nothing was written)."""
    account = ServiceAccount(
        reseller=subscriber.reseller,
        subscriber=subscriber,
        plan=plan,
        username=username,
        password_encrypted=crypto.encrypt(password),
        status=AccountStatus.PENDING,
        status_changed_at=now,
        auto_renew=auto_renew,
        renewal_period_months=months,
        currency=currency,
        livemode=subscriber.livemode,
        created_at=now,
    )
    # One prepared INSERT, no savepoint (bench/api.py, b3ac8b6: 34.5 to 84.9 creates/s with
    # the rest of the create path). Only a taken username is skipped; any other unique
    # violation raises IntegrityError.
    if not insert_instance(account, skip_conflict_on="account_username_unique"):
        return None
    # The emails and webhooks of its events read it from here, not from the database.
    remember(("account", account.pk), account)
    created = _event(account, action=EventAction.CREATE, actor=actor, now=now, from_status="",
                     data={"plan": plan.pk, "months": months, "credits": cost})
    try:
        # Optimistic: activate, and let the atomic balance UPDATE decide.
        with transaction.atomic():
            _activate(account, actor=actor, months=months, cost=cost, now=now)
    except InsufficientCredits:
        account.status = AccountStatus.PENDING
        account.starts_at = account.expires_at = None
        account.status_changed_at = now
        account.pending_reason = PendingReason.INSUFFICIENT_CREDITS
        account.save(update_fields=["pending_reason"])
        operation = PendingOperation.objects.create(
            reseller_id=account.reseller_id, account=account, livemode=account.livemode,
            kind=OperationKind.ACTIVATE, months=months, credits=cost, requested_at=now,
            actor_label=actor.label,
        )
        # Credits may have arrived since the UPDATE missed, drained by a grant that could
        # not see this operation yet: look again under the reseller's lock.
        reseller = Reseller.objects.select_for_update().get(pk=account.reseller_id)
        if reseller.balance(livemode=account.livemode) >= cost:
            account.reseller = reseller
            _activate(account, actor=actor, months=months, cost=cost, now=now)
            operation.status = OperationStatus.COMPLETED
            operation.completed_at = now
            operation.save(update_fields=["status", "completed_at"])
        else:
            publish(catalogue.ACCOUNT_ACTIVATION_QUEUED.event(
                reseller_id=account.reseller_id, livemode=account.livemode,
                payload=catalogue.ActivationQueued(
                    account_id=account.pk, subscriber_id=account.subscriber_id,
                    event_id=created.pk, credits=cost, now=now.isoformat(),
                ),
            ))
    _audit_account(actor, account, "create", {}, now)
    return account


def _activate(
    account: ServiceAccount, *, actor: Actor, months: int, cost: int, now: dt.datetime
) -> None:
    """Activate and deduct. The deduction comes last, so that the reseller's row lock
    (taken by the balance UPDATE) is held for as few statements as possible."""
    from_status = account.status
    states.check("activate", from_status)
    account.status = AccountStatus.ACTIVE
    account.pending_reason = ""
    account.starts_at = now
    account.expires_at = add_months(now, months)
    account.status_changed_at = now
    # Prepared on PostgreSQL: every API create activates (bench/api.py, b3ac8b6).
    update_instance(account, ["status", "pending_reason", "starts_at", "expires_at",
                              "status_changed_at", "updated_at"])
    _event(account, action=EventAction.ACTIVATE, actor=actor, now=now, from_status=from_status,
           credits_moved=-cost)
    credits_deduct(
        actor=actor, reseller=account.reseller, amount=cost, kind=EntryKind.ACTIVATION,
        idempotency_key=f"activation:{account.pk}", subscriber=account.subscriber,
        account=account, livemode=account.livemode, now=now,
    )


def account_activate(
    *, actor: Actor, account: ServiceAccount, now: dt.datetime | None = None
) -> ServiceAccount:
    """Activate a pending account now, on credits (the queue does this by itself too).

    The months and credits of its waiting activation apply; without one, the
    plan's own period. Raises `insufficient_credits` when the balance is short.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_CREATE)
    now = now or timezone.now()
    with transaction.atomic():
        reseller, account = _lock(account)
        states.check("activate", account.status)
        operation = PendingOperation.objects.select_for_update().filter(
            account=account, status=OperationStatus.WAITING, kind=OperationKind.ACTIVATE
        ).first()
        months = operation.months if operation else account.plan.duration_months
        cost = operation.credits if operation else credits_for(account.plan, months)
        account.reseller = reseller
        before = snapshot(account, ACCOUNT_AUDIT_FIELDS)
        _activate(account, actor=actor, months=months, cost=cost, now=now)
        if operation is not None:
            operation.status = OperationStatus.COMPLETED
            operation.completed_at = now
            operation.save(update_fields=["status", "completed_at"])
        _audit_account(actor, account, "activate", before, now)
    return account


def account_credentials_reveal(
    *, actor: Actor, reseller: Reseller, account_id: int, now: dt.datetime | None = None
) -> tuple[str, str]:
    """(username, password) in clear, for the reseller to pass on; every reveal is audited."""
    authorize(actor, reseller, Perm.CREDENTIALS_REVEAL)
    account = ServiceAccount.objects.filter(reseller=reseller, pk=account_id).first()
    if account is None:
        raise NotFound("No such account.", code="account_not_found", param="account")
    audit_record(actor=actor, reseller_id=reseller.pk, action="account.reveal_credentials",
                 obj=account, now=now)
    return account.username, crypto.decrypt(account.password_encrypted)


def _renewal_window(
    account: ServiceAccount, *, months: int, policy: str, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """(starts_at, expires_at) after renewing `months`.

    Not yet expired: the new period follows the current one. Expired: the
    reseller's policy says whether it starts at the old expiry or now; a
    period that would already be over when it starts from the old expiry
    starts now instead, so a renewal always buys time ahead.
    """
    if account.expires_at is None or account.starts_at is None:
        raise StateConflict("The account was never activated.", code="invalid_state_transition")
    if account.expires_at > now:
        return account.starts_at, add_months(account.expires_at, months)
    if policy == ReactivationPolicy.FROM_EXPIRY:
        expires = add_months(account.expires_at, months)
        if expires > now:
            return account.starts_at, expires
    return now, add_months(now, months)


def account_renew(
    *,
    actor: Actor,
    account: ServiceAccount,
    months: int | None = None,
    reference: str = "",
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> RenewResult:
    """Extend the account by `months` (default: its renewal period) on credits.

    Same credentials. A plan change scheduled for the renewal takes effect
    here. With credits short, the renewal waits in the pending queue and the
    account keeps its status. With an idempotency key, a retry has no second
    effect.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    now = now or timezone.now()
    with transaction.atomic():
        reseller, account = _lock(account)
        states.check("renew", account.status)
        check_no_payment_in_flight(account)
        plan = account.next_plan or account.plan
        months = account.renewal_period_months if months is None else months
        cost = credits_for(plan, months)
        key = f"renewal:{account.pk}:{idempotency_key or uuid.uuid4().hex}"
        waiting = PendingOperation.objects.filter(
            account=account, status=OperationStatus.WAITING
        ).first()
        if waiting is not None:
            if idempotency_key and waiting.idempotency_key == key:
                return RenewResult(account=account, queued=True, credits=waiting.credits,
                                   operation=waiting)
            raise StateConflict(
                "A renewal of this account is already waiting for credits.",
                code="renewal_already_pending", param="account",
            )
        if idempotency_key:
            done = account.ledger_entries.filter(idempotency_key=key).first()
            if done is not None:
                return RenewResult(account=account, queued=False, credits=-done.delta)
        if reseller.balance(livemode=account.livemode) < cost:
            operation = PendingOperation.objects.create(
                reseller=reseller, account=account, livemode=account.livemode,
                kind=OperationKind.RENEW, months=months, credits=cost, requested_at=now,
                reference=reference, idempotency_key=key, actor_label=actor.label,
            )
            _event(account, action=EventAction.RENEWAL_QUEUED, actor=actor, now=now,
                   from_status=account.status, old_expires_at=account.expires_at,
                   # Stored with the event, so in English (the dashboard shows it as written).
                   reason=f"{cost} credit{'' if cost == 1 else 's'} needed, "
                          f"{reseller.balance(livemode=account.livemode)} available",
                   data={"months": months, "reference": reference})
            return RenewResult(account=account, queued=True, credits=cost, operation=operation)
        _renew_locked(account, reseller=reseller, actor=actor, months=months, cost=cost,
                      key=key, reference=reference, now=now)
    return RenewResult(account=account, queued=False, credits=cost)


@dataclass(frozen=True)
class BulkRenewResult:
    renewed: list[RenewResult] = field(default_factory=list)
    # Waiting in the pending queue for credits.
    queued: list[RenewResult] = field(default_factory=list)
    # Each refused account with the reason; nothing of it was written.
    refused: list[tuple[ServiceAccount, DomainError]] = field(default_factory=list)


def account_renew_many(
    *,
    actor: Actor,
    reseller: Reseller,
    account_ids: Iterable[int],
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> BulkRenewResult:
    """Renew each of the reseller's accounts among `account_ids` by its renewal period.

    Each renewal is its own transaction, as `account_renew` is: one account refused (its
    state, a renewal already waiting) does not undo the others, and writes nothing itself.
    Another reseller's ids, and ids of the other mode, are ignored.
    """
    authorize(actor, reseller, Perm.ACCOUNT_RENEW)
    now = now or timezone.now()
    result = BulkRenewResult()
    accounts = (ServiceAccount.objects.filter(reseller=reseller, livemode=livemode,
                                              pk__in=list(account_ids))
                .select_related("subscriber", "plan").order_by("id"))
    for account in accounts:
        try:
            renewal = account_renew(actor=actor, account=account, now=now)
        except DomainError as error:
            result.refused.append((account, error))
            continue
        (result.queued if renewal.queued else result.renewed).append(renewal)
    return result


def _renew_locked(
    account: ServiceAccount,
    *,
    reseller: Reseller,
    actor: Actor,
    months: int,
    cost: int,
    key: str,
    reference: str,
    now: dt.datetime,
) -> None:
    before = snapshot(account, ACCOUNT_AUDIT_FIELDS)
    from_status = account.status
    states.check("renew", from_status)
    old_expires = account.expires_at
    entry = credits_deduct(
        actor=actor, reseller=reseller, amount=cost, kind=EntryKind.RENEWAL,
        idempotency_key=key, subscriber=account.subscriber, account=account,
        livemode=account.livemode, reference=reference, now=now,
    )
    account.starts_at, account.expires_at = _renewal_window(
        account, months=months, policy=reseller.reactivation_policy, now=now
    )
    data: dict[str, Any] = {"months": months, "reference": reference}
    if account.next_plan_id is not None:
        data["plan_changed_from"] = account.plan_id
        account.plan_id = account.next_plan_id
        account.next_plan = None
    account.status = AccountStatus.ACTIVE
    if from_status != AccountStatus.ACTIVE:
        account.status_changed_at = now
    account.save()
    _event(account, action=EventAction.RENEW, actor=actor, now=now, from_status=from_status,
           old_expires_at=old_expires, credits_moved=entry.delta, data=data)
    _audit_account(actor, account, "renew", before, now)


def account_change_plan(
    *,
    actor: Actor,
    account: ServiceAccount,
    plan: Plan,
    when: str = "now",
    now: dt.datetime | None = None,
) -> ServiceAccount:
    """Move the account to another plan, now or at the next renewal.

    `now` on an upgrade (more credits per month) deducts the difference in
    credits per month for the whole months left, a started month counting as
    whole, rounded up to a whole credit; the expiry stays. A downgrade asked
    for `now` waits for the renewal: the credits are already spent. Plans of
    equal monthly cost switch at once, free.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_CHANGE_PLAN)
    now = now or timezone.now()
    if when not in ("now", "renewal"):
        raise ValidationError("`when` is now or renewal.", code="invalid", param="when")
    with transaction.atomic():
        reseller, account = _lock(account)
        check_no_payment_in_flight(account)
        plan = plan_for_sale(account.reseller_id, plan.pk)
        if plan.pk == account.plan_id:
            raise ValidationError("The account is on this plan already.", code="same_plan",
                                  param="plan")
        before = snapshot(account, ACCOUNT_AUDIT_FIELDS)
        old_rate = Fraction(account.plan.credit_cost, account.plan.duration_months)
        new_rate = Fraction(plan.credit_cost, plan.duration_months)
        if when == "renewal" or new_rate < old_rate:
            states.check("change_plan_at_renewal", account.status)
            account.next_plan = plan
            account.renewal_period_months = _renewal_months_on(plan, account)
            account.save(update_fields=["next_plan", "renewal_period_months", "updated_at"])
            _event(account, action=EventAction.SCHEDULE_PLAN_CHANGE, actor=actor, now=now,
                   from_status=account.status,
                   data={"from_plan": account.plan_id, "to_plan": plan.pk, "asked": when})
            _audit_account(actor, account, "schedule_plan_change", before, now)
            return account
        states.check("change_plan_now", account.status)
        if account.expires_at is None:
            raise StateConflict("The account has no period.", code="invalid_state_transition")
        months_left = whole_months_between(now, account.expires_at)
        cost = ceil((new_rate - old_rate) * months_left)
        moved = 0
        if cost > 0:
            entry = credits_deduct(
                actor=actor, reseller=reseller, amount=cost, kind=EntryKind.PLAN_CHANGE,
                idempotency_key=f"plan_change:{account.pk}:{uuid.uuid4().hex}",
                subscriber=account.subscriber, account=account, livemode=account.livemode,
                reason=f"{months_left} month{'' if months_left == 1 else 's'} left", now=now,
            )
            moved = entry.delta
        old_plan = account.plan_id
        account.plan = plan
        account.next_plan = None
        account.renewal_period_months = _renewal_months_on(plan, account)
        account.save(update_fields=["plan", "next_plan", "renewal_period_months", "updated_at"])
        _event(account, action=EventAction.CHANGE_PLAN, actor=actor, now=now,
               from_status=account.status, credits_moved=moved,
               data={"from_plan": old_plan, "to_plan": plan.pk, "months_left": months_left})
        _audit_account(actor, account, "change_plan", before, now)
        return account


def _renewal_months_on(plan: Plan, account: ServiceAccount) -> int:
    """Keep the renewal period if the new plan sells it, else the plan's own period."""
    if account.renewal_period_months % plan.duration_months == 0:
        return account.renewal_period_months
    return plan.duration_months


def _simple_transition(
    *,
    actor: Actor,
    account: ServiceAccount,
    action: str,
    event: str,
    perm: Perm,
    reason: str,
    now: dt.datetime | None,
) -> ServiceAccount:
    authorize(actor, account.reseller_id, perm)
    now = now or timezone.now()
    with transaction.atomic():
        _, account = _lock(account)
        before = snapshot(account, ACCOUNT_AUDIT_FIELDS)
        from_status = account.status
        target = states.check(action, from_status)
        if action == "unsuspend" and account.expires_at is not None and account.expires_at <= now:
            raise StateConflict(
                "The account's period is over: renew it to reactivate.",
                code="renewal_required", param="status",
            )
        if action == "expire" and account.expires_at is not None and account.expires_at > now:
            raise StateConflict("The account has not expired yet.", code="not_expired",
                                param="status")
        account.status = target
        account.status_changed_at = now
        if action == "terminate":
            account.pending_reason = ""
        account.save(update_fields=["status", "status_changed_at", "pending_reason", "updated_at"])
        if action == "terminate":
            PendingOperation.objects.filter(
                account=account, status=OperationStatus.WAITING
            ).update(status=OperationStatus.CANCELLED, completed_at=now)
        _event(account, action=event, actor=actor, now=now, from_status=from_status,
               old_expires_at=account.expires_at, reason=reason)
        _audit_account(actor, account, action, before, now)
    return account


def account_suspend(
    *, actor: Actor, account: ServiceAccount, reason: str = "", now: dt.datetime | None = None
) -> ServiceAccount:
    return _simple_transition(actor=actor, account=account, action="suspend",
                              event=EventAction.SUSPEND, perm=Perm.ACCOUNT_SUSPEND,
                              reason=reason, now=now)


def account_unsuspend(
    *, actor: Actor, account: ServiceAccount, reason: str = "", now: dt.datetime | None = None
) -> ServiceAccount:
    """Back to active, same credentials; only while the paid period lasts (else renew)."""
    return _simple_transition(actor=actor, account=account, action="unsuspend",
                              event=EventAction.UNSUSPEND, perm=Perm.ACCOUNT_SUSPEND,
                              reason=reason, now=now)


def account_terminate(
    *, actor: Actor, account: ServiceAccount, reason: str = "", now: dt.datetime | None = None
) -> ServiceAccount:
    """Final. A renewal or activation still waiting for credits is cancelled."""
    return _simple_transition(actor=actor, account=account, action="terminate",
                              event=EventAction.TERMINATE, perm=Perm.ACCOUNT_TERMINATE,
                              reason=reason, now=now)


def account_expire(
    *, actor: Actor, account: ServiceAccount, now: dt.datetime | None = None
) -> ServiceAccount:
    """An active account past its expiry enters grace (it keeps working)."""
    return _simple_transition(actor=actor, account=account, action="expire",
                              event=EventAction.EXPIRE, perm=Perm.ACCOUNT_SUSPEND,
                              reason="expired", now=now)


def account_set_auto_renew(
    *, actor: Actor, account: ServiceAccount, auto_renew: bool, now: dt.datetime | None = None
) -> ServiceAccount:
    """Cancelling is auto-renew off: the account runs to its expiry."""
    authorize(actor, account.reseller_id, Perm.ACCOUNT_AUTO_RENEW)
    now = now or timezone.now()
    with transaction.atomic():
        _, account = _lock(account)
        states.check("set_auto_renew", account.status)
        if account.auto_renew == auto_renew:
            return account
        before = snapshot(account, ACCOUNT_AUDIT_FIELDS)
        account.auto_renew = auto_renew
        account.save(update_fields=["auto_renew", "updated_at"])
        _event(account, action=EventAction.SET_AUTO_RENEW, actor=actor, now=now,
               from_status=account.status, data={"auto_renew": auto_renew})
        _audit_account(actor, account, "set_auto_renew", before, now)
    return account


def account_set_renewal(
    *,
    actor: Actor,
    account: ServiceAccount,
    period_months: int | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> ServiceAccount:
    """Auto-renewal's period (months, in whole periods of the plan) and who collects it.

    Each change is an account event (set_renewal) with the old and new values; the
    same values again change nothing.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_AUTO_RENEW)
    now = now or timezone.now()
    if source is not None:
        source = validate_renewal_source(source)
    with transaction.atomic():
        _, locked = _lock(account)
        states.check("set_auto_renew", locked.status)
        changes: dict[str, Any] = {}
        if period_months is not None:
            _periods(locked.next_plan or locked.plan, period_months)
            if period_months != locked.renewal_period_months:
                changes["renewal_period_months"] = period_months
        if source is not None and source != locked.renewal_source:
            changes["renewal_source"] = source
        if not changes:
            return locked
        before = {**snapshot(locked, ACCOUNT_AUDIT_FIELDS), "renewal_source": locked.renewal_source}
        data = {f"old_{name}": getattr(locked, name) for name in changes} | changes
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.save(update_fields=[*changes, "updated_at"])
        _event(locked, action=EventAction.SET_RENEWAL, actor=actor, now=now,
               from_status=locked.status, data=data)
        audit_record(actor=actor, reseller_id=locked.reseller_id, action="account.set_renewal",
                     obj=locked, before=before,
                     after={**snapshot(locked, ACCOUNT_AUDIT_FIELDS),
                            "renewal_source": locked.renewal_source}, now=now)
    for name, value in changes.items():
        setattr(account, name, value)
    return locked


def account_update_renewal(
    *,
    actor: Actor,
    account: ServiceAccount,
    auto_renew: bool | None = None,
    period_months: int | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> ServiceAccount:
    """Auto-renewal's switch, period and source at once (the API's account renewal settings):
    all of them or, on any refusal, none. Each change is its own account event."""
    now = now or timezone.now()
    with transaction.atomic():
        if period_months is not None or source is not None:
            account = account_set_renewal(actor=actor, account=account,
                                          period_months=period_months, source=source, now=now)
        if auto_renew is not None:
            account = account_set_auto_renew(actor=actor, account=account,
                                             auto_renew=auto_renew, now=now)
    return account


def account_shorten(
    *,
    actor: Actor,
    account: ServiceAccount,
    months: int,
    reason: str,
    now: dt.datetime | None = None,
) -> ServiceAccount:
    """Take `months` off the account's period (a refund of the months it paid for, when
    asked). Same credentials and status; the sweep moves it on if the new expiry has
    passed. The credits spent stay spent. Refused when the period would end before it
    starts (`cannot_shorten`)."""
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    now = now or timezone.now()
    months = whole_number(months, field="months", minimum=1, code="invalid_months",
                          message="Months is a whole number of at least 1.")
    with transaction.atomic():
        _, locked = _lock(account)
        states.check("renew", locked.status)
        if locked.expires_at is None or locked.starts_at is None:
            raise StateConflict("The account was never activated.",
                                code="invalid_state_transition")
        shortened = add_months(locked.expires_at, -months)
        if shortened <= locked.starts_at:
            raise StateConflict(
                f"Taking {months} month{'' if months == 1 else 's'} off would end the period "
                "before it starts.", code="cannot_shorten", param="months")
        before = snapshot(locked, ACCOUNT_AUDIT_FIELDS)
        old_expires = locked.expires_at
        locked.expires_at = shortened
        locked.save(update_fields=["expires_at", "updated_at"])
        _event(locked, action=EventAction.SHORTEN, actor=actor, now=now,
               from_status=locked.status, old_expires_at=old_expires, reason=reason,
               data={"months": months})
        _audit_account(actor, locked, "shorten", before, now)
    account.expires_at = locked.expires_at
    return locked


def account_set_renewal_source(
    *, actor: Actor, account: ServiceAccount, source: str, now: dt.datetime | None = None
) -> ServiceAccount:
    """Who collects at auto-renewal: a source with a collector (external, complimentary, ...)."""
    return account_set_renewal(actor=actor, account=account, source=source, now=now)


def account_reset_password(
    *, actor: Actor, account: ServiceAccount, now: dt.datetime | None = None
) -> tuple[ServiceAccount, str]:
    """A new generated password; the username stays. Returns (account, new password)."""
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RESET_PASSWORD)
    now = now or timezone.now()
    password = generate_password()
    with transaction.atomic():
        _, account = _lock(account)
        states.check("reset_password", account.status)
        account.password_encrypted = crypto.encrypt(password)
        account.save(update_fields=["password_encrypted", "updated_at"])
        _event(account, action=EventAction.RESET_PASSWORD, actor=actor, now=now,
               from_status=account.status)
        # The audit row says a reset happened, never the password.
        audit_record(actor=actor, reseller_id=account.reseller_id,
                     action="account.reset_password", obj=account, now=now)
    return account, password


