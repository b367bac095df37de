"""Set up Django for a benchmark against its own PostgreSQL database (created and migrated)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "postgres://postgres@127.0.0.1:5432/billing_panel_bench"


def setup(database_url: str | None = None) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url or os.environ.get("BENCH_DATABASE_URL", BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    _create_database(connection.settings_dict)
    call_command("migrate", verbosity=0, interactive=False)


def _create_database(settings_dict: dict) -> None:
    import psycopg

    name = settings_dict["NAME"]
    dsn = (f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432} "
           f"user={settings_dict['USER'] or 'postgres'} dbname=postgres")
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
