"""Database helpers that the ORM does not give."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


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
    import psycopg
    from django.db.backends.postgresql.base import CursorDebugWrapper

    connection.ensure_connection()
    # A plain psycopg cursor binds on the server; it shares the connection's
    # adapters (and so Django's time zone and JSON handling).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        if connection.queries_logged:
            with CursorDebugWrapper(cursor, connection).debug_sql(sql, params):
                cursor.execute(sql, params, prepare=True)
        else:
            cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


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

