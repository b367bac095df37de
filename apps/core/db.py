"""Database helpers that the ORM does not give."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


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
