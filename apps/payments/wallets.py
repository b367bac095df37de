"""Every wallet movement goes through here: a subscriber's balance per currency.

A wallet is the credit ledger's twin in minor units: the Wallet row caches
the balance (a CHECK keeps it >= 0), each movement is one append-only
WalletEntry with the balance after it, and an idempotency key unique per
reseller makes a repeated call return the first row. The writes are the
credit ledger's own (apps.core.ledger): one statement moves the balance and
inserts the entry and its audit row, or a savepoint of it inside a caller's
transaction.

The wallet's mode is its subscriber's; a wallet row appears on its first
credit.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from apps.accounts.permissions import Perm, authorize
from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.currencies import format_minor, validate_currency
from apps.core.errors import DomainError, NotFound, StateConflict, ValidationError
from apps.core.ledger import Ledger
from apps.core.validation import idempotency_key as idempotency_key_valid
from apps.core.validation import whole_number

from .models import Payment, Wallet, WalletEntry, WalletEntryKind

if TYPE_CHECKING:
    from apps.subscriptions.models import ServiceAccount, Subscriber

# A typo, not a top-up: far above any price, far below the column's limit.
MAX_MINOR_PER_ENTRY = 10**12


class InsufficientWalletBalance(DomainError):
    code = "insufficient_wallet_balance"
    kind = "conflict"


WALLET_LEDGER = Ledger(
    holder=Wallet,
    holder_key="wallet_id",
    entry=WalletEntry,
    audit=AuditEntry,
    key_constraint="wallet_entry_idempotency_key_unique",
    # The wallet stands for the subscriber and the currency (and so the mode).
    replay_fields=("kind", "delta", "wallet_id", "payment_id", "account_id", "reverses_id"),
    noun="wallet movement",
)

# What each kind of credit pays for, and so the permission it needs.
CREDIT_PERMS: dict[str, Perm] = {
    WalletEntryKind.TOP_UP: Perm.PAYMENT_RECORD,
    WalletEntryKind.REFUND: Perm.PAYMENT_REFUND,
}


def validate_amount(amount: object, *, param: str = "amount") -> int:
    # One code, three messages: what is wrong with the number says how to fix it.
    whole_number(amount, field=param, minimum=None, code="invalid_amount",
                 message="An amount is a whole number of minor units (cents).")
    whole_number(amount, field=param, minimum=1, code="invalid_amount",
                 message="An amount must be a positive whole number of minor units.")
    return whole_number(amount, field=param, maximum=MAX_MINOR_PER_ENTRY, code="invalid_amount",
                        message=f"At most {MAX_MINOR_PER_ENTRY} minor units in one movement.")


def _validate_reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("A reason is required.", code="reason_required", param="reason")
    return reason.strip()


def _authorize(actor: Actor, reseller_id: int, perm: Perm, *, param: str = "subscriber") -> None:
    """authorize(), whose "not found" names what was not found: another tenant's object."""
    try:
        authorize(actor, reseller_id, perm)
    except NotFound:
        what = {"subscriber": "subscriber", "entry": "wallet movement"}[param]
        raise NotFound(f"No such {what}.", code=f"{param}_not_found", param=param) from None


def _check_ties(subscriber: Subscriber, currency: str, *, payment: Payment | None,
                account: ServiceAccount | None) -> None:
    """A payment or account of another subscriber (or tenant, or mode) is not found."""
    if payment is not None:
        if (payment.reseller_id, payment.subscriber_id, payment.livemode) != (
                subscriber.reseller_id, subscriber.pk, subscriber.livemode):
            raise NotFound("No such payment.", param="payment")
        if payment.currency != currency:
            raise ValidationError(f"The payment is in {payment.currency}, the wallet in "
                                  f"{currency}.", code="currency_mismatch", param="currency")
    if account is not None and (account.reseller_id, account.subscriber_id, account.livemode) != (
            subscriber.reseller_id, subscriber.pk, subscriber.livemode):
        raise NotFound("No such account.", code="account_not_found", param="account")


def _wallet(subscriber: Subscriber, currency: str, *, create: bool,
            now: dt.datetime | None) -> Wallet | None:
    """The subscriber's wallet in `currency`; made on first use when `create`.

    INSERT ... ON CONFLICT DO NOTHING, then a read: two first top-ups at once
    both find the one row, and inside a caller's transaction a conflict leaves
    it usable.
    """
    found = Wallet.objects.filter(subscriber=subscriber, currency=currency).first()
    if found is not None or not create:
        return found
    Wallet.objects.bulk_create([Wallet(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, livemode=subscriber.livemode,
        currency=currency, created_at=now or timezone.now(),
    )], ignore_conflicts=True)
    return Wallet.objects.get(subscriber=subscriber, currency=currency)


def _short(currency: str, delta: int) -> Wallet:
    raise _insufficient(None, currency, delta)


def _insufficient(wallet_id: int | None, currency: str, delta: int) -> InsufficientWalletBalance:
    balance = 0 if wallet_id is None else (
        Wallet.objects.values_list("balance", flat=True).get(pk=wallet_id))
    return InsufficientWalletBalance(
        f"{format_minor(-delta, currency)} needed, {format_minor(balance, currency)} available.",
        param="amount")


def _move(
    *,
    actor: Actor,
    subscriber: Subscriber,
    currency: str,
    kind: str,
    delta: int,
    idempotency_key: str,
    now: dt.datetime | None,
    reference: str = "",
    reason: str = "",
    payment: Payment | None = None,
    account: ServiceAccount | None = None,
    reverses: WalletEntry | None = None,
) -> tuple[WalletEntry, bool]:
    """Write one movement once per key (WALLET_LEDGER.write); (entry, created).

    Money out of a wallet that does not exist yet is short (or a reused key)
    and makes no wallet row.
    """
    wallet = _wallet(subscriber, currency, create=False, now=now)
    if wallet is None:
        previous = (WalletEntry.objects.filter(reseller_id=subscriber.reseller_id,
                                               idempotency_key=idempotency_key)
                    .select_related("wallet").first())
        if previous is not None:
            # The key was used: a concurrent first movement of this wallet (replayed below),
            # or a movement of another wallet, refused before a row is made for this one.
            if (previous.subscriber_id, previous.currency) != (subscriber.pk, currency):
                raise WALLET_LEDGER.key_reused(idempotency_key)
            wallet = previous.wallet
        elif delta <= 0:
            raise _insufficient(None, currency, delta)
        else:
            wallet = _wallet(subscriber, currency, create=True, now=now) or _short(currency,
                                                                                 delta)
    entry = WalletEntry(
        reseller_id=subscriber.reseller_id,
        wallet=wallet,
        subscriber=subscriber,
        livemode=wallet.livemode,
        currency=currency,
        kind=kind,
        delta=delta,
        idempotency_key=idempotency_key,
        reference=reference,
        reason=reason,
        payment=payment,
        account=account,
        reverses=reverses,
        **actor.row_fields(),
        created_at=now or timezone.now(),
    )
    audit = WALLET_LEDGER.audit_row(entry, reseller_id=subscriber.reseller_id, actor=actor,
                                    action=f"wallet.{kind}")
    written, created = WALLET_LEDGER.write(
        entry, audit, balance_field="balance",
        short=lambda: _insufficient(wallet.pk, currency, delta))
    if created:
        wallet.balance = written.balance_after
    return written, created


def wallet_credit(
    *,
    actor: Actor,
    subscriber: Subscriber,
    currency: str,
    amount: int,
    kind: str,
    idempotency_key: str,
    reference: str = "",
    reason: str = "",
    payment: Payment | None = None,
    account: ServiceAccount | None = None,
    reverses: WalletEntry | None = None,
    now: dt.datetime | None = None,
) -> tuple[WalletEntry, bool]:
    """Money into the wallet: a top-up, or a refund to the wallet. (entry, created).

    A refund that names the renewal charge it `reverses` gives back at most what
    that charge took.
    """
    perm = CREDIT_PERMS.get(kind)
    if perm is None:
        raise ValidationError(f"{kind!r} is not a wallet credit (top_up or refund).",
                              code="invalid", param="kind")
    _authorize(actor, subscriber.reseller_id, perm)
    amount = validate_amount(amount)
    currency = validate_currency(currency)
    idempotency_key = idempotency_key_valid(idempotency_key)
    _check_ties(subscriber, currency, payment=payment, account=account)
    if reverses is not None:
        if kind != WalletEntryKind.REFUND:
            raise ValidationError("Only a refund names the movement it gives back.",
                                  code="invalid", param="reverses")
        if (reverses.reseller_id, reverses.subscriber_id, reverses.currency) != (
                subscriber.reseller_id, subscriber.pk, currency):
            raise NotFound("No such wallet movement.", param="reverses")
        if reverses.kind != WalletEntryKind.RENEWAL_CHARGE or amount > -reverses.delta:
            raise ValidationError("A refund returns at most what the renewal charge took.",
                                  code="refund_exceeds_charge", param="amount")
    return _move(actor=actor, subscriber=subscriber, currency=currency, kind=kind, delta=amount,
                 idempotency_key=idempotency_key, now=now, reference=reference.strip(),
                 reason=reason.strip(), payment=payment, account=account, reverses=reverses)


def wallet_debit(
    *,
    actor: Actor,
    subscriber: Subscriber,
    currency: str,
    amount: int,
    idempotency_key: str,
    reference: str = "",
    payment: Payment | None = None,
    account: ServiceAccount | None = None,
    now: dt.datetime | None = None,
) -> tuple[WalletEntry, bool]:
    """A renewal paid from the wallet. (entry, created).

    Raises `insufficient_wallet_balance` and writes nothing when the balance is short.
    """
    _authorize(actor, subscriber.reseller_id, Perm.ACCOUNT_RENEW)
    amount = validate_amount(amount)
    currency = validate_currency(currency)
    idempotency_key = idempotency_key_valid(idempotency_key)
    _check_ties(subscriber, currency, payment=payment, account=account)
    return _move(actor=actor, subscriber=subscriber, currency=currency,
                 kind=WalletEntryKind.RENEWAL_CHARGE, delta=-amount,
                 idempotency_key=idempotency_key, now=now, reference=reference.strip(),
                 payment=payment, account=account)


def wallet_adjust(
    *,
    actor: Actor,
    subscriber: Subscriber,
    currency: str,
    delta: int,
    reason: str,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> WalletEntry:
    """A signed correction with a stated reason. It cannot take the balance below zero."""
    _authorize(actor, subscriber.reseller_id, Perm.PAYMENT_REFUND)
    message = "An adjustment is a non-zero whole number of minor units."
    if whole_number(delta, field="delta", minimum=None, code="invalid_amount",
                    message=message) == 0:
        raise ValidationError(message, code="invalid_amount", param="delta")
    validate_amount(abs(delta), param="delta")
    currency = validate_currency(currency)
    reason = _validate_reason(reason)
    idempotency_key = idempotency_key_valid(idempotency_key)
    entry, _ = _move(actor=actor, subscriber=subscriber, currency=currency,
                     kind=WalletEntryKind.ADJUSTMENT, delta=delta,
                     idempotency_key=idempotency_key, now=now, reason=reason)
    return entry


def wallet_reverse(
    *,
    actor: Actor,
    entry: WalletEntry,
    reason: str,
    idempotency_key: str,
    now: dt.datetime | None = None,
) -> WalletEntry:
    """The opposite of one movement, once; a replay of its key returns the first reversal.

    A reversal is not reversed again (an adjustment corrects it), and one that would
    take the balance below zero is refused like a short debit.
    """
    _authorize(actor, entry.reseller_id, Perm.PAYMENT_REFUND, param="entry")
    subscriber = entry.subscriber
    reason = _validate_reason(reason)
    idempotency_key = idempotency_key_valid(idempotency_key)
    if entry.kind == WalletEntryKind.REVERSAL:
        raise ValidationError("A reversal cannot be reversed; an adjustment corrects it.",
                              code="invalid", param="entry")
    # The wallet's row lock makes "once" hold between two reversals with different keys:
    # the second waits here and then sees the first.
    with transaction.atomic():
        Wallet.objects.select_for_update().filter(pk=entry.wallet_id).get()
        done = WalletEntry.objects.filter(wallet_id=entry.wallet_id, reverses=entry,
                                          kind=WalletEntryKind.REVERSAL).first()
        if done is not None and done.idempotency_key != idempotency_key:
            raise StateConflict("This movement was reversed already.", code="already_reversed",
                                param="entry")
        reversal, _ = _move(actor=actor, subscriber=subscriber, currency=entry.currency,
                            kind=WalletEntryKind.REVERSAL, delta=-entry.delta,
                            idempotency_key=idempotency_key, now=now,
                            reference=entry.reference, reason=reason,
                            payment=entry.payment, account=entry.account, reverses=entry)
    return reversal
