"""`manage.py seed_demo` on the embedded SQLite default, twice: nothing is created twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COUNT = """
import json
from django.apps import apps
print(json.dumps({m._meta.label_lower: m.objects.count() for m in apps.get_models()
                  if m._meta.app_label in ("accounts", "credits", "subscriptions", "audit")}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_seed_demo_twice_on_sqlite_creates_nothing_twice(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_panel.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "locmemcache://",
        "SECRET_KEY": "seed-test",
        "FIELD_ENCRYPTION_KEYS": "mGl2EMx4aVXszbwGy7h6mmGEJ3uEqxG5dnzQYQ1E1Ts=",
    }
    manage(env, "migrate", "--noinput", "-v0")
    first_output = manage(env, "seed_demo")
    first = json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])
    manage(env, "seed_demo")
    second = json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])

    assert first == second
    assert first["subscriptions.subscriber"] == 200
    assert first["subscriptions.serviceaccount"] == 200
    assert first["accounts.reseller"] == 2
    assert first["accounts.staffmembership"] == 10
    assert first["subscriptions.plan"] == 8
    assert "owner@demo.example" in first_output and "admin@provider.example" in first_output
