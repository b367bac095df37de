"""Every write of the payments app: payments recorded from outside, who collects at
auto-renewal, the renewal a collection pays for, and the failed-payment (dunning) cases.

The dunning cases are rows of apps.subscriptions (DunningCase); only these services
write them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record
from apps.core import catalogue
from apps.core.actors import Actor
from apps.core.currencies import format_minor, validate_currency
from apps.core.errors import NotFound, StateConflict, ValidationError
from apps.core.events import publish
from apps.core.validation import whole_number
from apps.subscriptions.models import DunningCase, DunningStatus, ServiceAccount
from apps.subscriptions.services import RenewResult, account_renew

from .collectors import Collection
from .models import ExternalPayment, Payment

if TYPE_CHECKING:
    from apps.api.models import ApiKey

# ---------------------------------------------------------------- payments from outside


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
        publish(catalogue.PAYMENT_RECORDED.event(
            reseller_id=reseller.pk, livemode=livemode,
            payload=catalogue.PaymentRecorded(
                payment_id=payment.pk, account_id=account.pk, amount=amount, currency=currency,
                reference=reference, renewal="queued" if renewal.queued else "completed",
            ),
        ))
    return PaymentResult(payment=payment, renewal=renewal, created=True)


# ---------------------------------------------------------------- who collects at renewal



# ---------------------------------------------------------------- the renewal a collection pays for


def renewal_key(period: dt.datetime) -> str:
    """The auto-renewal's idempotency key for the period ending at `period`.

    The credit ledger stores it as `renewal:<account>:<key>`, and the collector gets
    that same string, so one period is charged once and renewed once however often
    the sweep retries it.
    """
    return f"sweep:{period.isoformat()}"


def collection_key(account: ServiceAccount, period: dt.datetime) -> str:
    return f"renewal:{account.pk}:{renewal_key(period)}"


def renewal_collected(
    *,
    actor: Actor,
    account: ServiceAccount,
    period: dt.datetime,
    collection: Collection,
    now: dt.datetime,
) -> RenewResult:
    """Renew the account for the period a successful collection paid for.

    Called with the reseller and the account locked, after the collection (which
    ran with no lock held). The renewal is keyed by the period, so a retry of the
    same collection has no second effect. If the account moved on while the
    money was being taken (another door renewed it: the subscriber still gets
    the period paid for, on top), it renews as long as the state machine allows.
    An account that can no longer renew (terminated, in processing) raises a
    domain error: the caller reports the money to be refunded.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    with transaction.atomic():
        result = account_renew(actor=actor, account=account, idempotency_key=renewal_key(period),
                               months=collection.months, reference=collection.reference,
                               now=now)
        if collection.payment_id is not None:
            Payment.objects.filter(pk=collection.payment_id, applied_at__isnull=True).update(
                applied_at=now)
        dunning_resolve(actor=actor, account=account, now=now)
        if collection.amount > 0:
            publish(catalogue.ACCOUNT_PAYMENT_RECEIVED.event(
                reseller_id=account.reseller_id, livemode=account.livemode,
                payload=catalogue.PaymentReceived(
                    account_id=account.pk, now=now.isoformat(),
                    dedupe_key=f"receipt:{account.pk}:{period.isoformat()}",
                    amount=collection.amount, currency=collection.currency,
                    amount_display=format_minor(collection.amount, collection.currency),
                ),
            ))
    return result


def collection_unapplied(
    *,
    actor: Actor,
    account: ServiceAccount,
    period: dt.datetime,
    collection: Collection,
    why: str,
    now: dt.datetime,
) -> str:
    """Money was taken for a renewal that can no longer happen: keep a record staff can act on.

    An audit row (append-only, in the admin's audit log) with the collection's
    reference; the returned message goes into the sweep's report errors.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    amount = format_minor(collection.amount, collection.currency) if collection.currency else "-"
    message = (f"account {account.pk}: collected {amount} (reference "
               f"{collection.reference or '-'}) for the period ending {period.isoformat()}, "
               f"but it did not renew ({why}): refund it or renew it by hand")
    audit_record(actor=actor, reseller_id=account.reseller_id, action="payment.unapplied",
                 obj=account, after={"amount": collection.amount,
                                     "currency": collection.currency,
                                     "reference": collection.reference,
                                     "period_expires_at": period.isoformat(), "reason": why},
                 now=now)
    return message


# ---------------------------------------------------------------- dunning


def dunning_attempt_failed(
    *, actor: Actor, account: ServiceAccount, period: dt.datetime, error: str,
    now: dt.datetime, action_url: str = "",
) -> DunningCase:
    """A collection for the period ending at `period` failed: open its case, or count a retry.

    The first failure of a period tells the subscriber (account.payment_failed);
    a retry only counts the attempt.
    """
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    with transaction.atomic():
        case = DunningCase.objects.filter(account=account, period_expires_at=period).first()
        if case is not None:
            DunningCase.objects.filter(pk=case.pk).update(
                attempts=F("attempts") + 1, last_attempt_at=now, last_error=error
            )
            case.refresh_from_db()
            return case
        case = DunningCase.objects.create(
            reseller_id=account.reseller_id, account=account, livemode=account.livemode,
            period_expires_at=period, opened_at=now, last_attempt_at=now, last_error=error,
        )
        publish(catalogue.ACCOUNT_PAYMENT_FAILED.event(
            reseller_id=account.reseller_id, livemode=account.livemode,
            payload=catalogue.PaymentFailed(account_id=account.pk, now=now.isoformat(),
                                            error=error, dedupe_key=f"dunning:{case.pk}:failed",
                                            action_url=action_url),
        ))
    return case


def dunning_resolve(
    *, actor: Actor, account: ServiceAccount, now: dt.datetime,
    before: dt.datetime | None = None,
) -> int:
    """The account was paid for: its open cases (those for periods ending before `before`,
    when given) are resolved. Returns how many."""
    authorize(actor, account.reseller_id, Perm.ACCOUNT_RENEW)
    cases = DunningCase.objects.filter(account=account, status=DunningStatus.OPEN)
    if before is not None:
        cases = cases.filter(period_expires_at__lt=before)
    return cases.update(status=DunningStatus.RESOLVED, closed_at=now)


def dunning_close(*, actor: Actor, case: DunningCase, now: dt.datetime) -> None:
    """The rules ended the account (terminated): the case is closed, unpaid."""
    authorize(actor, case.reseller_id, Perm.ACCOUNT_TERMINATE)
    DunningCase.objects.filter(pk=case.pk).update(status=DunningStatus.CLOSED, closed_at=now)


def dunning_remind(*, actor: Actor, case: DunningCase, now: dt.datetime) -> bool:
    """The reminder after the configured day, once per case. False: it went already."""
    authorize(actor, case.reseller_id, Perm.ACCOUNT_RENEW)
    with transaction.atomic():
        if not DunningCase.objects.filter(pk=case.pk, reminded_at__isnull=True).update(
            reminded_at=now
        ):
            return False
        publish(catalogue.ACCOUNT_PAYMENT_FAILED.event(
            reseller_id=case.reseller_id, livemode=case.livemode,
            payload=catalogue.PaymentFailed(account_id=case.account_id, now=now.isoformat(),
                                            error=case.last_error,
                                            dedupe_key=f"dunning:{case.pk}:reminder"),
        ))
    return True
