"""An append-only ledger with a cached balance: the writes every ledger shares.

A ledger here is a table of movements (one row per movement: a signed delta,
the balance after it, an idempotency key unique in a scope) and a row that
caches the balance (the holder: a reseller for credits, a wallet for a
subscriber's money). A movement moves the cached balance and inserts the
ledger row and its audit row together; a database CHECK on the holder keeps
the balance >= 0. A repeated idempotency key has no second effect: the first
row comes back (and the key is refused if the parameters differ).

The apps describe their ledger once with `Ledger` and write through
`Ledger.write`. Core knows no app: the holder, the entry and the audit models
are given by the app, and so is the error for a balance that is short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model, UniqueConstraint

from .actors import Actor
from .db import execute_prepared
from .errors import IdempotencyKeyReused


@dataclass(frozen=True)
class Ledger:
    """What one ledger is made of.

    `entry` rows carry `delta`, `balance_after`, `reference`, `reason`,
    `livemode` and the fields of the unique constraint `key_constraint` (a
    scope, such as the reseller, and the idempotency key, last). `holder_key`
    is the entry's attname of the holder row's id (`reseller_id`,
    `wallet_id`); the balance column is given per movement, since a holder may
    keep one per mode. `audit` is the audit model, whose rows get `object_id`,
    `before` and `after` here. On a replay the `replay_fields` (attnames) of
    the first row must equal the new call's, except those the new call leaves
    None. `noun` names a movement in the error for a reused key.
    """

    holder: type[Model]
    holder_key: str
    entry: type[Model]
    audit: type[Model]
    key_constraint: str
    replay_fields: tuple[str, ...]
    noun: str

    @cached_property
    def key_fields(self) -> tuple[str, ...]:
        """The entry's attnames that the idempotency key is unique over, the key last."""
        found = [c for c in self.entry._meta.constraints
                 if isinstance(c, UniqueConstraint) and c.name == self.key_constraint]
        if not found:
            raise LookupError(f"{self.entry.__name__} has no unique constraint "
                              f"{self.key_constraint!r}.")
        return tuple(self.entry._meta.get_field(name).attname  # type: ignore[union-attr]
                     for name in found[0].fields)

    @cached_property
    def entry_fields(self) -> list[Any]:
        return _insertable(self.entry, ("balance_after",))

    @cached_property
    def audit_fields(self) -> list[Any]:
        return _insertable(self.audit, ("object_id", "before", "after"))

    def audit_row(self, entry: Any, *, reseller_id: int, actor: Actor, action: str) -> Model:
        """The audit row of a movement (its ids and before/after are filled in by `write`)."""
        return self.audit(created_at=entry.created_at, reseller_id=reseller_id,
                          **actor.row_fields(), action=action,
                          object_type=self.entry._meta.label_lower, ip=actor.ip)

    def write(
        self, entry: Model, audit: Model, *, balance_field: str,
        short: Callable[[], Exception],
    ) -> tuple[Any, bool]:
        """Move the balance and write the rows, once per key. Returns (entry, created).

        The write comes first and the key is looked up only when nothing was
        written: one statement locks the holder row, checks that the key is
        unused and that the balance stays >= 0, moves it and inserts the ledger
        and audit rows, so the lock is held for one round trip. A concurrent
        writer with the same key loses on the unique constraint; its statement
        (or savepoint) leaves nothing and the winner's row is returned. A
        repeated key with other parameters raises IdempotencyKeyReused; a short
        balance raises what `short` makes.
        """
        key = getattr(entry, "idempotency_key")  # noqa: B009 (the entry model is the caller's)
        for _attempt in range(3):
            try:
                with statement_or_savepoint():
                    new_balance = self.insert_moving_balance(entry, audit, balance_field)
            except IntegrityError as error:
                if self.key_constraint not in str(error):
                    raise
                continue  # the other writer committed first: the next attempt returns its row
            if new_balance is None:
                # Nothing written: the key was used before, or the balance is short.
                previous = self.existing(entry)
                if previous is not None:
                    return previous, False
                raise short()
            return entry, True
        raise RuntimeError(f"Could not settle idempotency key {key!r}.")

    def existing(self, entry: Model) -> Any:
        """The row written first with `entry`'s key, or None; IdempotencyKeyReused if it differs."""
        scope = {name: getattr(entry, name) for name in self.key_fields}
        previous = self.entry._default_manager.filter(**scope).first()
        if previous is None:
            return None
        for name in self.replay_fields:
            value = getattr(entry, name)
            if value is not None and getattr(previous, name) != value:
                raise self.key_reused(scope[self.key_fields[-1]])
        return previous

    def key_reused(self, key: str) -> IdempotencyKeyReused:
        return IdempotencyKeyReused(
            f"The idempotency key {key!r} was used for another {self.noun}.",
            param="idempotency_key",
        )

    def insert_moving_balance(self, entry: Model, audit: Model, balance_field: str) -> int | None:
        """Move the cached balance and insert the ledger and audit rows; the new balance.

        None, with nothing written, when the entry's idempotency key is already in
        the ledger or the balance would go below zero. On PostgreSQL it is one
        prepared statement (an UPDATE ... RETURNING feeding the two INSERTs), so
        the holder's row lock is held for one round trip and the commit.
        Elsewhere (SQLite, where writers are serialized anyway) the same writes go
        one by one through the ORM.
        """
        if connection.vendor == "postgresql":
            return self.insert_moving_balance_in_one_statement(entry, audit, balance_field)
        return self.insert_moving_balance_by_orm(entry, audit, balance_field)

    def insert_moving_balance_by_orm(
        self, entry: Any, audit: Any, balance_field: str
    ) -> int | None:
        """The writes of _one_statement_sql, one by one; inside the caller's transaction."""
        used = self.entry._default_manager.filter(
            **{name: getattr(entry, name) for name in self.key_fields})
        if used.exists():
            return None
        holder_id = getattr(entry, self.holder_key)
        holders = self.holder._default_manager.filter(pk=holder_id)
        if not holders.filter(**{f"{balance_field}__gte": -entry.delta}).update(
                **{balance_field: F(balance_field) + entry.delta}):
            return None
        entry.balance_after = holders.values_list(balance_field, flat=True).get()
        entry.save()
        audit.object_id = str(entry.pk)
        audit.before = {"balance": entry.balance_after - entry.delta, "livemode": entry.livemode}
        audit.after = {"balance": entry.balance_after, "delta": entry.delta,
                       "reference": entry.reference, "reason": entry.reason}
        audit.save()
        return int(entry.balance_after)

    def insert_moving_balance_in_one_statement(
        self, entry: Any, audit: Any, balance_field: str
    ) -> int | None:
        scope = [getattr(entry, name) for name in self.key_fields]
        params = [
            entry.delta, getattr(entry, self.holder_key), entry.delta, *scope,
            *(f.get_db_prep_save(getattr(entry, f.attname), connection)
              for f in self.entry_fields),
            *(f.get_db_prep_save(getattr(audit, f.attname), connection)
              for f in self.audit_fields),
            entry.delta, entry.livemode, entry.delta, entry.reference, entry.reason,
        ]
        rows = execute_prepared(_one_statement_sql(self, balance_field), params)
        if not rows:
            return None
        entry.pk, entry.balance_after, audit.pk = rows[0]
        entry._state.adding = False
        entry._state.db = connection.alias
        return int(entry.balance_after)


def statement_or_savepoint() -> AbstractContextManager[object]:
    """What the balance move runs in.

    On PostgreSQL outside any transaction, the move is one statement and so its
    own transaction: it commits in the same round trip, and the holder's row
    lock is held only while the server works. Inside the caller's transaction it
    is a savepoint, so that losing an idempotency race leaves the caller's
    transaction usable. On SQLite the writes go one by one, in a transaction.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        return nullcontext()
    return transaction.atomic()


def _insertable(model: type[Model], skip: tuple[str, ...]) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in skip]


# Hand-written because bench/credits.py measured it (fe0c67a: planning the three-part CTE
# cost more than running it, so it is prepared on the server). tests/credits/
# test_one_statement.py proves it writes what insert_moving_balance_by_orm writes (and
# tests/payments/test_wallet_one_statement.py, for the wallet ledger).
@cache
def _one_statement_sql(ledger: Ledger, balance_field: str) -> str:
    """The balance move, the ledger row and the audit row as one statement (built once).

    The UPDATE matches no row, and so nothing is inserted, when the balance
    would go below zero or the idempotency key is already in the ledger. Two
    writers racing with one key: the second waits for the row lock, then its
    INSERT fails on the unique constraint and the statement leaves nothing.
    Parameters are bound on the server, so each carries its column's type.
    """
    holder = ledger.holder._meta.db_table
    table = ledger.entry._meta.db_table

    def columns(fields: Sequence[Any]) -> str:
        return ", ".join(f'"{f.column}"' for f in fields)

    def values(fields: Sequence[Any]) -> str:
        return ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields)

    # The scope's columns are ids, the key (last) is text.
    *scope, key = (ledger.entry._meta.get_field(name).column  # type: ignore[union-attr]
                   for name in ledger.key_fields)
    unused = " AND ".join([*(f'"{column}" = %s::bigint' for column in scope),
                           f'"{key}" = %s::text'])
    pk = ledger.holder._meta.pk.column
    return f"""
        WITH moved AS (
            UPDATE "{holder}" SET "{balance_field}" = "{balance_field}" + %s::bigint
            WHERE "{pk}" = %s::bigint AND "{balance_field}" + %s::bigint >= 0
              AND NOT EXISTS (SELECT 1 FROM "{table}"
                              WHERE {unused})
            RETURNING "{balance_field}" AS balance
        ), entry AS (
            INSERT INTO "{table}" ({columns(ledger.entry_fields)}, "balance_after")
            SELECT {values(ledger.entry_fields)}, moved.balance FROM moved
            RETURNING "id", "balance_after"
        ), audit AS (
            INSERT INTO "{ledger.audit._meta.db_table}" ({columns(ledger.audit_fields)},
                                                       "object_id", "before", "after")
            SELECT {values(ledger.audit_fields)}, entry.id::text,
                   jsonb_build_object('balance', entry.balance_after - %s::bigint,
                                      'livemode', %s::boolean),
                   jsonb_build_object('balance', entry.balance_after, 'delta', %s::bigint,
                                      'reference', %s::text, 'reason', %s::text)
            FROM entry
            RETURNING "id"
        )
        SELECT entry.id, entry.balance_after, (SELECT id FROM audit) FROM entry
    """  # noqa: S608 (identifiers come from the models, values are parameters)
