"""This suite runs on what `make run` runs: base.py's embedded defaults, not a server."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

SERVERS = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/elsewhere",
           "REDIS_URL": "redis://127.0.0.1:6379/9",
           "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
           "CACHE_URL": "rediscache://127.0.0.1:6379/9"}


def settings_in_a_new_process(prelude: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (f"{prelude}\nfrom billing_panel.settings import test_sqlite as s\n"
            "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'],"
            " s.CELERY_BROKER_URL)")
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env={**os.environ, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_the_database_is_a_sqlite_file_in_wal_mode_with_base_options(db: None) -> None:
    assert connection.vendor == "sqlite"
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] == 20
    # A file of this run's own, beside the sweep's lock.
    assert settings.DATABASES["default"]["NAME"] == str(settings.VAR_DIR / "test.sqlite3")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


def test_cache_and_broker_are_the_embedded_ones() -> None:
    assert settings.CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.locmem.LocMemCache")
    assert settings.CELERY_BROKER_URL == "filesystem://"


def test_exported_server_urls_do_not_reach_the_settings() -> None:
    result = settings_in_a_new_process("", SERVERS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3",
                                     "django.core.cache.backends.locmem.LocMemCache",
                                     "filesystem://"]


def test_a_dot_env_pointing_at_a_server_stops_the_run() -> None:
    # What base.py's read_env does with a .env copied from .env.example.
    prelude = ("import os, environ\nenviron.Env.read_env = classmethod("
               "lambda cls, *a, **k: os.environ.setdefault('DATABASE_URL', "
               f"{SERVERS['DATABASE_URL']!r}))")
    result = settings_in_a_new_process(prelude, {})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DATABASE_URL" in result.stderr
