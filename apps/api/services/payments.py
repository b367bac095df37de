"""Payments recorded from an outside billing system."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import NotFound, StateConflict, ValidationError
from apps.core.events import DomainEvent, publish
from apps.core.validation import whole_number
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import (
    RenewResult,
    account_renew,
)

from ..models import (
    ApiKey,
    ExternalPayment,
)

# ---------------------------------------------------------------- payments


@dataclass(frozen=True)
class PaymentResult:
    payment: ExternalPayment
    renewal: RenewResult | None
    # False when the same reference was recorded before (a retry): nothing happened again.
    created: bool


def payment_record(
    *,
    actor: Actor,
    reseller: Reseller,
    livemode: bool,
    account_id: int,
    amount: int,
    currency: str,
    reference: str,
    paid_at: dt.datetime,
    api_key: ApiKey | None = None,
    now: dt.datetime | None = None,
) -> PaymentResult:
    """Record a payment made outside the panel and renew the account once per reference."""
    authorize(actor, reseller, Perm.ACCOUNT_RENEW)
    now = now or timezone.now()
    validate_currency(currency)
    whole_number(amount, field="amount", minimum=1, code="invalid_amount",
                 message="The amount is a whole number of minor units, at least 1.")
    reference = (reference or "").strip()
    if not reference or len(reference) > 200:
        raise ValidationError("A payment reference has 1 to 200 characters.", code="required",
                              param="reference")
    if paid_at > now + dt.timedelta(minutes=5):
        raise ValidationError("paid_at is in the future.", code="invalid", param="paid_at")
    with transaction.atomic():
        account = ServiceAccount.objects.filter(
            reseller=reseller, livemode=livemode, pk=account_id
        ).first()
        if account is None:
            raise NotFound("No such account.", code="account_not_found", param="account")
        # Lock the reseller first (the one lock order) so two requests with one reference queue.
        Reseller.objects.select_for_update().get(pk=reseller.pk)
        existing = ExternalPayment.objects.filter(
            reseller=reseller, livemode=livemode, reference=reference
        ).first()
        if existing is not None:
            if (existing.account_id, existing.amount, existing.currency) != (
                account.pk, amount, currency
            ):
                raise StateConflict(
                    f"The reference {reference!r} was recorded for another payment.",
                    code="duplicate_payment_reference", param="reference",
                )
            return PaymentResult(payment=existing, renewal=None, created=False)
        payment = ExternalPayment.objects.create(
            reseller=reseller, account=account, livemode=livemode, amount=amount,
            currency=currency, reference=reference, paid_at=paid_at, created_at=now,
            api_key=api_key,
        )
        renewal = account_renew(actor=actor, account=account, reference=reference,
                                idempotency_key=f"payment:{reference}", now=now)
        audit_record(actor=actor, reseller_id=reseller.pk, action="payment.record", obj=payment,
                     after={"account": account.pk, "amount": amount, "currency": currency,
                            "reference": reference, "renewal_queued": renewal.queued},
                     now=now)
        publish(DomainEvent(
            name="payment.recorded", reseller_id=reseller.pk, livemode=livemode,
            payload={"payment_id": payment.pk, "account_id": account.pk, "amount": amount,
                     "currency": currency, "reference": reference,
                     "renewal": "queued" if renewal.queued else "completed"},
        ))
    return PaymentResult(payment=payment, renewal=renewal, created=True)


