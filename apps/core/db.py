"""Database helpers that the ORM does not give."""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, transaction
from django.db.models import DateTimeField, JSONField, Model, UniqueConstraint
from django.db.models.sql.query import Query

T = TypeVar("T")


def execute_prepared(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run a statement as a prepared statement on PostgreSQL (psycopg 3); its rows.

    Django binds parameters on the client and never prepares, so every
    execution is parsed and planned again; for a statement on a hot path (the
    credit movement, a CTE of three parts) planning costs more than running it.
    Here the parameters are bound on the server and the statement is prepared
    once per connection. Errors are Django's and the query is logged as
    Django logs its own. The statement must cast each parameter whose type
    PostgreSQL cannot infer.
    """
    from django.db.backends.postgresql.base import CursorDebugWrapper

    connection.ensure_connection()
    cursor = _server_cursor(connection.connection)
    with connection.wrap_database_errors:
        if connection.queries_logged:
            with CursorDebugWrapper(cursor, connection).debug_sql(sql, params):
                cursor.execute(sql, params, prepare=True)
        else:
            cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


_server_cursors: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _server_cursor(raw: Any) -> Any:
    """One plain psycopg cursor per connection, made once (execute_prepared runs often).

    A plain cursor binds on the server; it shares the connection's adapters
    (and so Django's time zone and JSON handling). Connections are per thread.
    """
    import psycopg

    cursor = _server_cursors.get(raw)
    if cursor is None or cursor.closed:
        cursor = _server_cursors[raw] = psycopg.Cursor(raw)
    return cursor


def select_list(model: type[Model], alias: str) -> str:
    """The model's concrete columns, qualified by `alias`, in field order (see instances)."""
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def instances(row: Sequence[Any], models: Sequence[type[Model]]) -> list[Model]:
    """Model instances from one row whose columns are select_list of each model, in order.

    The fields' from_db_value converters run (JSON, for one), as the ORM's would.
    """
    made: list[Model] = []
    start = 0
    for model in models:
        fields = model._meta.concrete_fields
        values = []
        for field, value in zip(fields, row[start : start + len(fields)], strict=True):
            if value is not None and hasattr(field, "from_db_value"):
                value = field.from_db_value(value, None, connection)
            values.append(value)
        made.append(model.from_db(connection.alias, [f.attname for f in fields], values))
        start += len(fields)
    return made


@cache
def _fetch_sql(model: type[Model], where: str) -> str:
    return f'SELECT {select_list(model, "t")} FROM "{model._meta.db_table}" t WHERE {where}'  # noqa: S608


def fetch(model: type[Model], where: str, params: Sequence[Any]) -> list[Any]:
    """Instances of `model` whose row meets `where` (SQL over the columns, alias `t`).

    For reads on a hot path: on PostgreSQL one prepared statement, and no
    queryset to compile (a simple ORM read costs several times its round trip
    in Python). `where` is fixed text from the caller's code, never input, and
    compares columns with `params` (no casts: SQLite runs it too, as a raw
    query with the ORM's conversions).
    """
    sql = _fetch_sql(model, where)
    if connection.vendor != "postgresql":
        return list(model._default_manager.raw(sql, params))
    return [instances(row, [model])[0] for row in execute_prepared(sql, params)]


def fetch_one(model: type[Model], **equals: Any) -> Any:
    """The instance whose columns (attnames) equal `equals`, or None; see fetch."""
    where = " AND ".join(f't."{model._meta.get_field(name).column}" = %s'  # type: ignore[union-attr]
                         for name in equals)
    found = fetch(model, where + " LIMIT 1", list(equals.values()))
    return found[0] if found else None


@cache
def conflict_clause(model: type[Model], constraint_name: str) -> str:
    """`ON CONFLICT (<columns>) [WHERE <condition>] DO NOTHING` for one unique constraint.

    Naming the constraint's columns (and, for a partial one, its condition)
    skips only a row that breaks that constraint: a row that breaks another
    (the primary key, another unique key) still raises IntegrityError instead
    of being taken for the expected duplicate. PostgreSQL and SQLite both take
    this form; `ON CONFLICT ON CONSTRAINT` would not find a partial unique index.
    """
    found = [c for c in model._meta.constraints
             if isinstance(c, UniqueConstraint) and c.name == constraint_name]
    if not found or not found[0].fields:
        raise LookupError(f"{model.__name__} has no unique constraint {constraint_name!r} "
                          "over fields.")
    constraint = found[0]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(model._meta.get_field(name).column))  # type: ignore[union-attr]
                        for name in constraint.fields)
    where = ""
    if constraint.condition is not None:
        query = Query(model=model, alias_cols=False)
        sql, params = query.build_where(constraint.condition).as_sql(
            query.get_compiler(connection=connection), connection)
        if params:
            raise LookupError(f"{constraint_name}'s condition takes parameters.")
        where = f" WHERE {sql}"
    return f" ON CONFLICT ({columns}){where} DO NOTHING"


@cache
def _insert_sql(model: type[Model], columns: tuple[str, ...], conflict: str | None) -> str:
    quote = connection.ops.quote_name
    meta = model._meta
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
        + (conflict_clause(model, conflict) if conflict else "")
        + f" RETURNING {quote(str(meta.pk.column))}"
    )


def insert_instance(obj: Model, *, skip_conflict_on: str | None = None) -> bool:
    """obj.save(force_insert=True) for a new row, without compiling a query: True if inserted.

    Kept for the API's account create, which bench/api.py measured (b3ac8b6,
    README's API benchmark: 34.5 creates/s before, 84.9 with prepared inserts
    and reads and no savepoint per conflict): on PostgreSQL one prepared
    INSERT per model (a save() compiles its query every time); on SQLite the
    same statement, not prepared. Fields' pre_save runs (auto_now and
    auto_now_add set their times) and the primary key comes back into `obj`.
    With `skip_conflict_on`, the name of one of the model's unique constraints,
    a row that breaks that constraint is not written and False comes back,
    with no error and so no savepoint needed to go on in the transaction; a
    row that breaks any other still raises IntegrityError. No signals and no
    save() override run: for rows that have none (or none that matter here).
    """
    model = type(obj)
    meta = model._meta
    fields = [f for f in meta.concrete_fields
              if not (f.primary_key and getattr(obj, f.attname) is None)]
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    sql = _insert_sql(model, tuple(str(f.column) for f in fields), skip_conflict_on)
    if connection.vendor == "postgresql":
        returned = execute_prepared(sql, values)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            returned = cursor.fetchall()
    if not returned:
        return False
    setattr(obj, meta.pk.attname, returned[0][0])
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


@cache
def _update_sql(model: type[Model], columns: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    pk = quote(str(model._meta.pk.column))
    return (
        f"UPDATE {quote(model._meta.db_table)} SET "  # noqa: S608
        f"{', '.join(f'{quote(c)} = %s' for c in columns)} WHERE {pk} = %s RETURNING {pk}"
    )


def update_instance(obj: Model, fields: Sequence[str]) -> None:
    """obj.save(update_fields=fields), as one prepared UPDATE on PostgreSQL (see insert_instance).

    Fields' pre_save runs (an auto_now field named in `fields` takes the time).
    A row that is not there raises the model's DoesNotExist.
    """
    model_fields = [obj._meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        # The same one UPDATE through the ORM: save() would raise a bare DatabaseError
        # for a missing row.
        changes = {f.attname: f.pre_save(obj, add=False) for f in model_fields}  # type: ignore[union-attr]
        if not type(obj)._default_manager.filter(pk=obj.pk).update(**changes):
            raise obj.DoesNotExist(f"{type(obj).__name__} {obj.pk} is not in the database.")  # type: ignore[attr-defined]
        return
    values = [f.get_db_prep_save(f.pre_save(obj, add=False), connection)  # type: ignore[union-attr]
              for f in model_fields]
    sql = _update_sql(type(obj), tuple(str(f.column) for f in model_fields))  # type: ignore[union-attr]
    if not execute_prepared(sql, [*values, obj.pk]):
        raise obj.DoesNotExist(f"{type(obj).__name__} {obj.pk} is not in the database.")  # type: ignore[attr-defined]


def insert_rows(
    model: type[Model],
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflict_on: str | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert many rows given as {attname: value}; the `returning` columns of those inserted.

    Kept for the sweep's batches and audit_record_many, which bench/sweep.py
    measured (dde2b09: a 500-row outbox batch 43 ms through bulk_create's
    literals, 22 ms this way; README's sweep benchmark: 2,930 to 3,786 items/s
    at 1,000,000 accounts). tests/test_insert_rows.py proves it stores what
    the ORM would.

    On PostgreSQL it is one statement however many rows: the rows go as one
    JSON document that `json_populate_recordset` turns back into rows of the
    table's own type, so neither the statement nor its planning grows with the
    batch, no model instance is built, and the encoding is the json module's
    (in C) rather than a literal per value. Values are what the column stores
    (ids for foreign keys, aware datetimes, JSON as Python data); a column a
    row leaves out gets the field's default. Elsewhere (SQLite) it is the
    ORM's bulk_create, or insert_instance row by row when conflicts on
    `skip_conflict_on` (a unique constraint's name, see conflict_clause) are
    skipped. Returned rows come in no promised order: return a column that
    tells them apart.
    """
    if not rows:
        return []
    given = rows[0].keys()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in given]
    if connection.vendor != "postgresql":
        objs = [model(**row) for row in rows]
        if skip_conflict_on:
            # bulk_create can only ignore every conflict (INSERT OR IGNORE), and hands back
            # every row given, inserted or not.
            made = [obj for obj in objs if insert_instance(obj, skip_conflict_on=skip_conflict_on)]
        else:
            made = model._default_manager.bulk_create(objs, batch_size=500)
        return [tuple(getattr(obj, name) for name in returning) for obj in made]
    for field in fields:
        if isinstance(field, JSONField) and field.encoder not in (None, DjangoJSONEncoder):
            raise TypeError(f"{field} has an encoder insert_rows does not know.")
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in given}
    # Column datetimes keep their microseconds (DjangoJSONEncoder, for JSON fields, would not).
    moments = [f.attname for f in fields if isinstance(f, DateTimeField)]
    # The document's keys are the columns' names.
    renamed = {f.attname: str(f.column) for f in fields if f.attname != f.column}
    document = []
    for row in rows:
        values = {**defaults, **row}
        for name in moments:
            if values[name] is not None:
                values[name] = values[name].isoformat()
        if renamed:
            values = {renamed.get(key, key): value for key, value in values.items()}
        document.append(values)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    # Names from the model's own meta, quoted: no outside text in the statement.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{table}, %s::json)"
    )
    if skip_conflict_on:
        sql += conflict_clause(model, skip_conflict_on)
    if returning:
        returned = [str(model._meta.get_field(name).column) for name in returning]  # type: ignore[union-attr]
        sql += " RETURNING " + ", ".join(quote(column) for column in returned)
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(document, cls=DjangoJSONEncoder)])
        return list(cursor.fetchall()) if returning else []


DEADLOCK_RETRIES = 3


def retrying_deadlocks(work: Callable[[], T]) -> T:
    """Run `work` (which opens its own transaction) again when PostgreSQL broke a deadlock by
    rolling it back, as its manual advises; inside a caller's transaction, once.

    The rolled-back attempt left nothing: its writes, events and on-commit hooks went with
    it, so the next attempt starts clean.
    """
    if transaction.get_connection().in_atomic_block:
        return work()
    for attempt in range(DEADLOCK_RETRIES):
        try:
            return work()
        except OperationalError as error:
            cause = error.__cause__
            if getattr(cause, "sqlstate", None) != "40P01" or attempt == DEADLOCK_RETRIES - 1:
                raise
    raise AssertionError("unreachable")
