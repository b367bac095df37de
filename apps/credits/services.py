"""Every credit movement goes through here.

Each function locks the reseller row, writes one ledger row and moves the
cached balance in the same transaction. A repeated idempotency key has no
second effect: it returns the first row (and refuses the key if the
parameters differ).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize, authorize_provider
from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import IdempotencyKeyReused, InsufficientCredits, NotFound, ValidationError
from apps.core.events import DomainEvent, publish

from .models import CreditLedgerEntry, EntryKind

if TYPE_CHECKING:
    from apps.subscriptions.models import ServiceAccount, Subscriber

MAX_CREDITS_PER_ENTRY = 10_000_000


def _validate_positive(amount: object, *, param: str = "amount") -> int:
    # bool is an int in Python; True credits are not a thing.
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValidationError("Credits are a whole number.", code="invalid_amount", param=param)
    if amount <= 0:
        raise ValidationError(
            "Credits must be a positive whole number.", code="invalid_amount", param=param
        )
    if amount > MAX_CREDITS_PER_ENTRY:
        raise ValidationError(
            f"At most {MAX_CREDITS_PER_ENTRY} credits in one movement.",
            code="invalid_amount",
            param=param,
        )
    return amount


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

    One UPDATE ... RETURNING locks the reseller row, checks that the balance
    stays >= 0 and moves it, so the lock is held for as few statements as
    possible. A concurrent writer with the same key loses on the unique
    constraint; its savepoint (balance move included) rolls back and the
    winner's row is returned.
    """
    expected: dict[str, Any] = {"kind": kind, "delta": delta, "livemode": livemode}
    if account is not None:
        expected["account_id"] = account.pk
    balance_field = "credit_balance" if livemode else "test_credit_balance"
    for _attempt in range(3):
        previous = _existing(reseller.pk, idempotency_key, expected)
        if previous is not None:
            return previous, False
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
            with transaction.atomic():
                new_balance = _insert_moving_balance(entry, audit, balance_field)
                publish(
                    DomainEvent(
                        name=f"credits.{kind}",
                        reseller_id=reseller.pk,
                        livemode=livemode,
                        payload={"entry_id": entry.pk, "delta": delta, "balance": new_balance},
                    )
                )
        except IntegrityError as error:
            if "ledger_idempotency_key_unique" not in str(error):
                raise
            continue  # the other writer committed first: return its row
        setattr(reseller, balance_field, new_balance)
        return entry, True
    raise RuntimeError(f"Could not settle idempotency key {idempotency_key!r}.")


def _insert_moving_balance(
    entry: CreditLedgerEntry, audit: AuditEntry, balance_field: str
) -> int:
    """Move the cached balance and insert the ledger and audit rows; the new balance.

    On PostgreSQL it is one statement (an UPDATE ... RETURNING feeding the two
    INSERTs), so the reseller's row lock is held for one round trip and the
    commit. Elsewhere (SQLite, where writers are serialized anyway) the same
    writes go one by one.
    """
    if connection.vendor == "postgresql":
        return _insert_moving_balance_in_one_statement(entry, audit, balance_field)
    new_balance = _move_balance(entry.reseller_id, balance_field, entry.delta)
    entry.balance_after = new_balance
    entry.save()
    audit.object_id = str(entry.pk)
    audit.before = _audit_before(entry)
    audit.after = _audit_after(entry)
    audit.save()
    return new_balance


def _audit_before(entry: CreditLedgerEntry) -> dict[str, Any]:
    return {"balance": entry.balance_after - entry.delta, "livemode": entry.livemode}


def _audit_after(entry: CreditLedgerEntry) -> dict[str, Any]:
    return {"balance": entry.balance_after, "delta": entry.delta, "reference": entry.reference,
            "reason": entry.reason}


def _columns(obj: Any, skip: set[str]) -> tuple[list[str], list[Any]]:
    fields = [f for f in obj._meta.concrete_fields if not f.primary_key and f.name not in skip]
    return (
        [f'"{f.column}"' for f in fields],
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields],
    )


def _insert_moving_balance_in_one_statement(
    entry: CreditLedgerEntry, audit: AuditEntry, balance_field: str
) -> int:
    entry_columns, entry_values = _columns(entry, {"balance_after"})
    audit_columns, audit_values = _columns(audit, {"object_id", "before", "after"})
    sql = f"""
        WITH moved AS (
            UPDATE "{Reseller._meta.db_table}" SET "{balance_field}" = "{balance_field}" + %s
            WHERE "id" = %s AND "{balance_field}" + %s >= 0
            RETURNING "{balance_field}" AS balance
        ), entry AS (
            INSERT INTO "{CreditLedgerEntry._meta.db_table}" ({", ".join(entry_columns)},
                                                              "balance_after")
            SELECT {", ".join(["%s"] * len(entry_values))}, moved.balance FROM moved
            RETURNING "id", "balance_after"
        ), audit AS (
            INSERT INTO "{AuditEntry._meta.db_table}" ({", ".join(audit_columns)},
                                                       "object_id", "before", "after")
            SELECT {", ".join(["%s"] * len(audit_values))}, entry.id::text,
                   jsonb_build_object('balance', entry.balance_after - %s, 'livemode', %s),
                   jsonb_build_object('balance', entry.balance_after, 'delta', %s,
                                      'reference', %s::text, 'reason', %s::text)
            FROM entry
            RETURNING "id"
        )
        SELECT entry.id, entry.balance_after, (SELECT id FROM audit) FROM entry
    """  # noqa: S608 (identifiers come from the models, values are parameters)
    params = [
        entry.delta, entry.reseller_id, entry.delta,
        *entry_values,
        *audit_values,
        entry.delta, entry.livemode, entry.delta, entry.reference, entry.reason,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise _insufficient(entry.reseller_id, balance_field, entry.delta)
    entry.pk, entry.balance_after, audit.pk = row
    entry._state.adding = False
    entry._state.db = connection.alias
    return int(entry.balance_after)


def _move_balance(reseller_id: int, balance_field: str, delta: int) -> int:
    """Add delta to the cached balance unless it would go below zero; the new balance."""
    table = Reseller._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" SET "{balance_field}" = "{balance_field}" + %s '  # noqa: S608
            f'WHERE "id" = %s AND "{balance_field}" + %s >= 0 RETURNING "{balance_field}"',
            [delta, reseller_id, delta],
        )
        row = cursor.fetchone()
    if row is None:
        raise _insufficient(reseller_id, balance_field, delta)
    return int(row[0])


def _insufficient(reseller_id: int, balance_field: str, delta: int) -> InsufficientCredits:
    balance = Reseller.objects.values_list(balance_field, flat=True).get(pk=reseller_id)
    return InsufficientCredits(f"{-delta} credits needed, {balance} available.", param="amount")


def _drain_after_arrival(reseller: Reseller, *, livemode: bool, now: dt.datetime | None) -> None:
    # Credits arrived: the activations and renewals that waited for them go first.
    from apps.subscriptions.services import pending_queue_drain

    pending_queue_drain(reseller=reseller, livemode=livemode, now=now)


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
        if not isinstance(price_amount, int) or isinstance(price_amount, bool) or price_amount < 0:
            raise ValidationError(
                "The price is a whole number of minor units, zero or more.",
                code="invalid_amount",
                param="price_amount",
            )
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
    """Spend credits. Raises `insufficient_credits` and writes nothing when the balance is short."""
    authorize(actor, reseller, Perm.ACCOUNT_CREATE)
    amount = _validate_positive(amount)
    idempotency_key = _validate_key(idempotency_key)
    if kind not in (EntryKind.ACTIVATION, EntryKind.RENEWAL, EntryKind.PLAN_CHANGE):
        raise ValidationError(f"{kind!r} is not a deduction.", code="invalid", param="kind")
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
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise ValidationError(
            "An adjustment is a non-zero whole number of credits.",
            code="invalid_amount",
            param="delta",
        )
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
