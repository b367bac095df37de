"""Every credit movement goes through here.

Each function locks the reseller row, writes one ledger row and moves the
cached balance in the same transaction, through apps.core.ledger (which the
wallets share). A repeated idempotency key has no second effect: it returns
the first row (and refuses the key if the parameters differ).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize, authorize_provider
from apps.audit.models import AuditEntry
from apps.core import catalogue
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import InsufficientCredits, NotFound, ValidationError
from apps.core.events import publish
from apps.core.ledger import Ledger
from apps.core.validation import idempotency_key as idempotency_key_valid
from apps.core.validation import whole_number

from .models import CreditLedgerEntry, EntryKind

if TYPE_CHECKING:
    from apps.subscriptions.models import ServiceAccount, Subscriber

MAX_CREDITS_PER_ENTRY = 10_000_000


def _validate_positive(amount: object, *, param: str = "amount") -> int:
    # Three messages, one code: what is wrong with the number says how to fix it.
    whole_number(amount, field=param, minimum=None, code="invalid_amount",
                 message="Credits are a whole number.")
    whole_number(amount, field=param, minimum=1, code="invalid_amount",
                 message="Credits must be a positive whole number.")
    return whole_number(amount, field=param, maximum=MAX_CREDITS_PER_ENTRY, code="invalid_amount",
                        message=f"At most {MAX_CREDITS_PER_ENTRY} credits in one movement.")


# The credit ledger: the reseller row holds both modes' balances (one column each). Its
# movement is apps.core.ledger's one hand-written statement, which bench/credits.py asked for.
CREDIT_LEDGER = Ledger(
    holder=Reseller,
    holder_key="reseller_id",
    entry=CreditLedgerEntry,
    audit=AuditEntry,
    key_constraint="ledger_idempotency_key_unique",
    # The account is compared only when the repeated call names one.
    replay_fields=("kind", "delta", "livemode", "account_id"),
    noun="credit movement",
)

# The two ways a movement is written, compared by tests/credits/test_one_statement.py.
_insert_moving_balance_by_orm = CREDIT_LEDGER.insert_moving_balance_by_orm
_insert_moving_balance_in_one_statement = CREDIT_LEDGER.insert_moving_balance_in_one_statement


def _write(
    *,
    reseller: Reseller,
    livemode: bool,
    kind: str,
    delta: int,
    idempotency_key: str,
    actor: Actor,
    now: dt.datetime | None,
    reference: str = "",
    reason: str = "",
    price_amount: int | None = None,
    price_currency: str = "",
    subscriber: Subscriber | None = None,
    account: ServiceAccount | None = None,
    reverses: CreditLedgerEntry | None = None,
) -> tuple[CreditLedgerEntry, bool]:
    """Move the balance and write the row, once per key (CREDIT_LEDGER.write). (entry, created).

    A repeated key with other parameters raises IdempotencyKeyReused; a short
    balance raises InsufficientCredits and writes nothing.
    """
    balance_field = "credit_balance" if livemode else "test_credit_balance"
    entry = CreditLedgerEntry(
        reseller_id=reseller.pk,
        livemode=livemode,
        kind=kind,
        delta=delta,
        idempotency_key=idempotency_key,
        reference=reference,
        reason=reason,
        price_amount=price_amount,
        price_currency=price_currency,
        subscriber=subscriber,
        account=account,
        reverses=reverses,
        **actor.row_fields(),
        created_at=now or timezone.now(),
    )
    audit = CREDIT_LEDGER.audit_row(entry, reseller_id=reseller.pk, actor=actor,
                                    action=f"credits.{kind}")
    written, created = CREDIT_LEDGER.write(
        entry, audit, balance_field=balance_field,
        short=lambda: _insufficient(reseller.pk, balance_field, delta))
    if created:
        setattr(reseller, balance_field, written.balance_after)
    return written, created


def _insufficient(reseller_id: int, balance_field: str, delta: int) -> InsufficientCredits:
    balance = Reseller.objects.values_list(balance_field, flat=True).get(pk=reseller_id)
    needed = -delta
    return InsufficientCredits(
        f"{needed} credit{'' if needed == 1 else 's'} needed, {balance} available.",
        param="amount")


def _drain_after_arrival(reseller: Reseller, *, livemode: bool, now: dt.datetime | None) -> None:
    """Tell who waits for credits (the pending queue, apps.subscriptions) that some arrived.

    A domain event, so that credits never imports the apps that spend them.
    """
    publish(catalogue.CREDITS_ARRIVED.event(
        reseller_id=reseller.pk, livemode=livemode,
        payload=catalogue.CreditsArrived(now=(now or timezone.now()).isoformat()),
    ))
    # The queue spent some of them: the caller's reseller shows what is left.
    reseller.refresh_from_db(fields=["credit_balance", "test_credit_balance"])


def credits_grant(
    *,
    actor: Actor,
    reseller: Reseller,
    amount: int,
    reference: str,
    idempotency_key: str,
    price_amount: int | None = None,
    price_currency: str = "",
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> CreditLedgerEntry:
    """The provider adds credits to a reseller (a purchase), then the pending queue drains."""
    authorize_provider(actor, "credits.grant")
    amount = _validate_positive(amount)
    idempotency_key = idempotency_key_valid(idempotency_key)
    if not isinstance(reference, str) or not reference.strip():
        raise ValidationError(
            "A grant needs a reference (an order or invoice number).",
            code="reference_required",
            param="reference",
        )
    if price_amount is not None:
        whole_number(price_amount, field="price_amount", minimum=0, code="invalid_amount",
                     message="The price is a whole number of minor units, zero or more.")
        price_currency = validate_currency(price_currency, param="price_currency")
    elif price_currency:
        raise ValidationError(
            "A price currency needs a price amount.", code="invalid", param="price_amount"
        )
    entry, created = _write(
        reseller=reseller,
        livemode=livemode,
        kind=EntryKind.PURCHASE,
        delta=amount,
        idempotency_key=idempotency_key,
        actor=actor,
        now=now,
        reference=reference.strip(),
        price_amount=price_amount,
        price_currency=price_currency,
    )
    if created:
        _drain_after_arrival(reseller, livemode=livemode, now=now)
    return entry


# Each kind of deduction and the permission it needs: the one of the operation it pays for.
DEDUCTION_PERMS: dict[str, Perm] = {
    EntryKind.ACTIVATION: Perm.ACCOUNT_CREATE,
    EntryKind.RENEWAL: Perm.ACCOUNT_RENEW,
    EntryKind.PLAN_CHANGE: Perm.ACCOUNT_CHANGE_PLAN,
}


def credits_deduct(
    *,
    actor: Actor,
    reseller: Reseller,
    amount: int,
    idempotency_key: str,
    kind: str = EntryKind.ACTIVATION,
    reason: str = "",
    reference: str = "",
    subscriber: Subscriber | None = None,
    account: ServiceAccount | None = None,
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> CreditLedgerEntry:
    """Spend credits. Raises `insufficient_credits` and writes nothing when the balance is short.

    The actor needs the permission of what the credits pay for (`DEDUCTION_PERMS`): an
    activation the account-create one, a renewal the renew one, a plan change its own.
    """
    perm = DEDUCTION_PERMS.get(kind)
    if perm is None:
        raise ValidationError(f"{kind!r} is not a deduction.", code="invalid", param="kind")
    authorize(actor, reseller, perm)
    amount = _validate_positive(amount)
    idempotency_key = idempotency_key_valid(idempotency_key)
    entry, _ = _write(
        reseller=reseller,
        livemode=livemode,
        kind=kind,
        delta=-amount,
        idempotency_key=idempotency_key,
        actor=actor,
        now=now,
        reason=reason,
        reference=reference,
        subscriber=subscriber,
        account=account,
    )
    return entry


def credits_refund(
    *,
    actor: Actor,
    reseller: Reseller,
    amount: int,
    idempotency_key: str,
    reason: str = "",
    refunds: CreditLedgerEntry | None = None,
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> CreditLedgerEntry:
    """Give credits back; when `refunds` names a deduction, no more than it took."""
    authorize_provider(actor, "credits.refund")
    amount = _validate_positive(amount)
    idempotency_key = idempotency_key_valid(idempotency_key)
    if refunds is not None:
        if refunds.reseller_id != reseller.pk:
            raise NotFound("No such ledger entry.", param="refunds")
        if refunds.delta >= 0 or amount > -refunds.delta:
            raise ValidationError(
                "A refund returns at most what the deduction took.",
                code="refund_exceeds_deduction",
                param="amount",
            )
        livemode = refunds.livemode
    entry, created = _write(
        reseller=reseller,
        livemode=livemode,
        kind=EntryKind.REFUND,
        delta=amount,
        idempotency_key=idempotency_key,
        actor=actor,
        now=now,
        reason=reason,
        reverses=refunds,
        subscriber=refunds.subscriber if refunds else None,
        account=refunds.account if refunds else None,
    )
    if created:
        _drain_after_arrival(reseller, livemode=livemode, now=now)
    return entry


def credits_adjust(
    *,
    actor: Actor,
    reseller: Reseller,
    delta: int,
    reason: str,
    idempotency_key: str,
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> CreditLedgerEntry:
    """A signed correction with a stated reason. It cannot take the balance below zero."""
    authorize_provider(actor, "credits.adjust")
    message = "An adjustment is a non-zero whole number of credits."
    if whole_number(delta, field="delta", minimum=None, code="invalid_amount",
                    message=message) == 0:
        raise ValidationError(message, code="invalid_amount", param="delta")
    _validate_positive(abs(delta), param="delta")
    idempotency_key = idempotency_key_valid(idempotency_key)
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(
            "An adjustment needs a reason.", code="reason_required", param="reason"
        )
    entry, created = _write(
        reseller=reseller,
        livemode=livemode,
        kind=EntryKind.ADJUSTMENT,
        delta=delta,
        idempotency_key=idempotency_key,
        actor=actor,
        now=now,
        reason=reason.strip(),
    )
    if created and delta > 0:
        _drain_after_arrival(reseller, livemode=livemode, now=now)
    return entry
