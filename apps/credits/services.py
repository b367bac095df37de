"""Every credit movement goes through here.

Each function locks the reseller row, writes one ledger row and moves the
cached balance in the same transaction. A repeated idempotency key has no
second effect: it returns the first row (and refuses the key if the
parameters differ).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize, authorize_provider
from apps.audit.models import AuditEntry
from apps.core import catalogue
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.db import execute_prepared
from apps.core.errors import IdempotencyKeyReused, InsufficientCredits, NotFound, ValidationError
from apps.core.events import publish
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


def _validate_key(idempotency_key: object) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationError(
            "An idempotency key is required.",
            code="idempotency_key_required",
            param="idempotency_key",
        )
    if len(idempotency_key) > 200:
        raise ValidationError(
            "An idempotency key has at most 200 characters.",
            code="invalid",
            param="idempotency_key",
        )
    return idempotency_key


def _existing(reseller_id: int, key: str, expected: dict[str, Any]) -> CreditLedgerEntry | None:
    entry = CreditLedgerEntry.objects.filter(reseller_id=reseller_id, idempotency_key=key).first()
    if entry is None:
        return None
    for field, value in expected.items():
        if getattr(entry, field) != value:
            raise IdempotencyKeyReused(
                f"The idempotency key {key!r} was used for another credit movement.",
                param="idempotency_key",
            )
    return entry


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
    """Move the balance and write the row, once per key. Returns (entry, created).

    The write comes first and the key is looked up only when nothing was
    written: one statement locks the reseller row, checks that the key is
    unused and that the balance stays >= 0, moves it and inserts the ledger
    and audit rows, so the lock is held for one round trip. A concurrent
    writer with the same key loses on the unique constraint; its statement (or
    savepoint) leaves nothing and the winner's row is returned. A repeated key
    with other parameters raises IdempotencyKeyReused.
    """
    expected: dict[str, Any] = {"kind": kind, "delta": delta, "livemode": livemode}
    if account is not None:
        expected["account_id"] = account.pk
    balance_field = "credit_balance" if livemode else "test_credit_balance"
    for _attempt in range(3):
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
        audit = AuditEntry(
            created_at=entry.created_at,
            reseller_id=reseller.pk,
            **actor.row_fields(),
            action=f"credits.{kind}",
            object_type=CreditLedgerEntry._meta.label_lower,
            ip=actor.ip,
        )
        try:
            with _statement_or_savepoint():
                new_balance = _insert_moving_balance(entry, audit, balance_field)
        except IntegrityError as error:
            if "ledger_idempotency_key_unique" not in str(error):
                raise
            continue  # the other writer committed first: the next attempt returns its row
        if new_balance is None:
            # Nothing written: the key was used before, or the balance is short.
            previous = _existing(reseller.pk, idempotency_key, expected)
            if previous is not None:
                return previous, False
            raise _insufficient(reseller.pk, balance_field, delta)
        setattr(reseller, balance_field, new_balance)
        return entry, True
    raise RuntimeError(f"Could not settle idempotency key {idempotency_key!r}.")


def _statement_or_savepoint() -> AbstractContextManager[object]:
    """What the balance move runs in.

    On PostgreSQL outside any transaction, the move is one statement and so its
    own transaction: it commits in the same round trip, and the reseller's row
    lock is held only while the server works. Inside the caller's transaction it
    is a savepoint, so that losing an idempotency race leaves the caller's
    transaction usable. On SQLite the writes go one by one, in a transaction.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return nullcontext()
    return transaction.atomic()


def _insert_moving_balance(
    entry: CreditLedgerEntry, audit: AuditEntry, balance_field: str
) -> int | None:
    """Move the cached balance and insert the ledger and audit rows; the new balance.

    None, with nothing written, when the entry's idempotency key is already in
    the ledger or the balance would go below zero. On PostgreSQL it is one
    prepared statement (an UPDATE ... RETURNING feeding the two INSERTs), so
    the reseller's row lock is held for one round trip and the commit.
    Elsewhere (SQLite, where writers are serialized anyway) the same writes go
    one by one through the ORM.
    """
    if connection.vendor == "postgresql":
        return _insert_moving_balance_in_one_statement(entry, audit, balance_field)
    return _insert_moving_balance_by_orm(entry, audit, balance_field)


def _insert_moving_balance_by_orm(
    entry: CreditLedgerEntry, audit: AuditEntry, balance_field: str
) -> int | None:
    """The writes of _one_statement_sql, one by one; inside the caller's transaction."""
    used = CreditLedgerEntry.objects.filter(
        reseller_id=entry.reseller_id, idempotency_key=entry.idempotency_key
    )
    if used.exists():
        return None
    balance = F(balance_field)
    if not Reseller.objects.filter(pk=entry.reseller_id, **{f"{balance_field}__gte": -entry.delta}
                                   ).update(**{balance_field: balance + entry.delta}):
        return None
    entry.balance_after = Reseller.objects.values_list(balance_field, flat=True).get(
        pk=entry.reseller_id)
    entry.save()
    audit.object_id = str(entry.pk)
    audit.before = {"balance": entry.balance_after - entry.delta, "livemode": entry.livemode}
    audit.after = {"balance": entry.balance_after, "delta": entry.delta,
                   "reference": entry.reference, "reason": entry.reason}
    audit.save()
    return entry.balance_after


def _insertable(model: type[Any], skip: tuple[str, ...]) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in skip]


ENTRY_FIELDS = _insertable(CreditLedgerEntry, ("balance_after",))
AUDIT_FIELDS = _insertable(AuditEntry, ("object_id", "before", "after"))


# Hand-written because bench/credits.py measured it (fe0c67a: planning the three-part CTE
# cost more than running it, so it is prepared on the server). tests/credits/
# test_one_statement.py proves it writes what _insert_moving_balance_by_orm writes.
@cache
def _one_statement_sql(balance_field: str) -> str:
    """The balance move, the ledger row and the audit row as one statement (built once).

    The UPDATE matches no row, and so nothing is inserted, when the balance
    would go below zero or the idempotency key is already in the ledger. Two
    writers racing with one key: the second waits for the row lock, then its
    INSERT fails on the unique constraint and the statement leaves nothing.
    Parameters are bound on the server, so each carries its column's type.
    """
    reseller = Reseller._meta.db_table
    ledger = CreditLedgerEntry._meta.db_table

    def columns(fields: list[Any]) -> str:
        return ", ".join(f'"{f.column}"' for f in fields)

    def values(fields: list[Any]) -> str:
        return ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)

    return f"""
        WITH moved AS (
            UPDATE "{reseller}" SET "{balance_field}" = "{balance_field}" + %s::bigint
            WHERE "id" = %s::bigint AND "{balance_field}" + %s::bigint >= 0
              AND NOT EXISTS (SELECT 1 FROM "{ledger}"
                              WHERE "reseller_id" = %s::bigint AND "idempotency_key" = %s::text)
            RETURNING "{balance_field}" AS balance
        ), entry AS (
            INSERT INTO "{ledger}" ({columns(ENTRY_FIELDS)}, "balance_after")
            SELECT {values(ENTRY_FIELDS)}, moved.balance FROM moved
            RETURNING "id", "balance_after"
        ), audit AS (
            INSERT INTO "{AuditEntry._meta.db_table}" ({columns(AUDIT_FIELDS)},
                                                       "object_id", "before", "after")
            SELECT {values(AUDIT_FIELDS)}, entry.id::text,
                   jsonb_build_object('balance', entry.balance_after - %s::bigint,
                                      'livemode', %s::boolean),
                   jsonb_build_object('balance', entry.balance_after, 'delta', %s::bigint,
                                      'reference', %s::text, 'reason', %s::text)
            FROM entry
            RETURNING "id"
        )
        SELECT entry.id, entry.balance_after, (SELECT id FROM audit) FROM entry
    """  # noqa: S608 (identifiers come from the models, values are parameters)


def _insert_moving_balance_in_one_statement(
    entry: CreditLedgerEntry, audit: AuditEntry, balance_field: str
) -> int | None:
    params = [
        entry.delta, entry.reseller_id, entry.delta, entry.reseller_id, entry.idempotency_key,
        *(f.get_db_prep_save(getattr(entry, f.attname), connection) for f in ENTRY_FIELDS),
        *(f.get_db_prep_save(getattr(audit, f.attname), connection) for f in AUDIT_FIELDS),
        entry.delta, entry.livemode, entry.delta, entry.reference, entry.reason,
    ]
    rows = execute_prepared(_one_statement_sql(balance_field), params)
    if not rows:
        return None
    entry.pk, entry.balance_after, audit.pk = rows[0]
    entry._state.adding = False
    entry._state.db = connection.alias
    return int(entry.balance_after)


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
    idempotency_key = _validate_key(idempotency_key)
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
    idempotency_key = _validate_key(idempotency_key)
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
    idempotency_key = _validate_key(idempotency_key)
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
    idempotency_key = _validate_key(idempotency_key)
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
