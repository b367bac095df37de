"""Benchmark of one step: building a page of the API's account list.

    .venv/bin/python bench/account_list.py [--accounts 100000] [--samples 400]

Two ways of making the same JSON body for one page (the default 50 rows, and the
maximum 100), timed in-process on one connection:

- sql: each row written as JSON by PostgreSQL (json_build_object) in one prepared
  statement, the page joined as text; the path apps/api/views.py had until the
  account list went back to the ORM (the statement is kept here to measure it);
- orm: the queryset the view uses (account_list, `.only`, keyset page) and the one
  Account object (apps.api.objects.account_object), rendered by DRF's JSONRenderer.

For scale, it also times a whole GET /api/v1/accounts request through Django's test
client (key lookup, rate limit, the view as it is now). Uses its own database
(BENCH_DATABASE_URL, default bp_bench_list on DATABASE_URL's server; a name without
"bench" is refused), fills it with set-based SQL (a database already filled is
reused), and prints one JSON object: medians and p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def bench_url() -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing_panel")
    return urlunparse(urlparse(base)._replace(path="/bp_bench_list"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunparse(parts._replace(path="/postgres")), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(n: int) -> tuple[Any, str]:
    """One reseller with `n` live accounts (set-based SQL); returns (reseller, API key)."""
    from django.db import connection

    from apps.accounts.models import Reseller
    from apps.api.services import api_key_create
    from apps.core import crypto
    from apps.core.actors import Actor
    from apps.subscriptions.models import Plan, ServiceAccount

    system = Actor.system("bench")
    reseller, _ = Reseller.objects.get_or_create(
        slug="bench-list", defaults={"name": "Bench list", "contact_email": "b@example.com"})
    plan, _ = Plan.objects.get_or_create(reseller=reseller, name="Monthly",
                                         defaults={"credit_cost": 1})
    _, key = api_key_create(actor=system, reseller=reseller, name="bench list", mode="live",
                            scopes=["accounts:read"])
    missing = n - ServiceAccount.objects.filter(reseller=reseller, livemode=True).count()
    if missing > 0:
        print(f"filling {missing} accounts ...", file=sys.stderr, flush=True)
        with connection.cursor() as cursor:
            # Timestamps with microseconds, as real ones have: the format must keep them.
            cursor.execute(
                """
                WITH subs AS (
                    INSERT INTO subscriptions_subscriber
                        (reseller_id, name, email, phone, country, marketing_consent,
                         marketing_consent_source, external_id, livemode, created_at, updated_at)
                    SELECT %(r)s, 'Bench ' || g, 'list' || g || '-' || %(run)s || '@example.net',
                           '', '', false, '', NULL, true, now(), now()
                    FROM generate_series(1, %(n)s) AS g
                    RETURNING id
                )
                INSERT INTO subscriptions_serviceaccount
                    (reseller_id, subscriber_id, plan_id, username, password_encrypted, status,
                     pending_reason, starts_at, expires_at, status_changed_at, auto_renew,
                     renewal_period_months, renewal_source, livemode, created_at, updated_at)
                SELECT %(r)s, subs.id, %(p)s, 'list' || subs.id, %(secret)s, 'active', '',
                       now() - (subs.id %% 997) * interval '1.000001 second',
                       now() + interval '30 days' + (subs.id %% 43200) * interval '1 minute',
                       now(), true, 1, 'external', true, now(), now()
                FROM subs
                """,
                {"r": reseller.pk, "p": plan.pk, "n": missing, "secret": crypto.encrypt("x"),
                 "run": str(time.time_ns())},
            )
            cursor.execute("ANALYZE subscriptions_subscriber")
            cursor.execute("ANALYZE subscriptions_serviceaccount")
    return reseller, key


# ---------------------------------------------------------------- the SQL JSON path, as it was


def _when_sql(column: str) -> str:
    utc = f'("{column}" AT TIME ZONE \'UTC\')'
    return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"extract(microseconds FROM {utc})::bigint %% 1000000 = 0 THEN '' "
            f"ELSE to_char({utc}, '.US') END || 'Z'")


def _sql_page_statement() -> str:
    from apps.subscriptions.models import ServiceAccount

    values = {"id": '"id"', "status": '"status"', "pending_reason": '"pending_reason"',
              "username": '"username"', "plan": '"plan_id"', "subscriber": '"subscriber_id"',
              "starts_at": _when_sql("starts_at"), "expires_at": _when_sql("expires_at"),
              "auto_renew": '"auto_renew"', "livemode": '"livemode"'}
    pairs = ", ".join(f"'{name}', {sql}" for name, sql in values.items())
    return (f'SELECT "id", json_build_object({pairs})::text '
            f'FROM "{ServiceAccount._meta.db_table}" '
            'WHERE "reseller_id" = %s::bigint AND "livemode" = %s::boolean '
            'AND "id" < %s::bigint ORDER BY "id" DESC LIMIT %s::bigint')


def sql_page(reseller_id: int, before: int, limit: int) -> bytes:
    from apps.core.db import execute_prepared

    rows = execute_prepared(_sql_page_statement(), [reseller_id, True, before, limit + 1])
    cursor = str(rows[limit - 1][0]) if len(rows) > limit else None
    return (f'{{"data":[{",".join(row[1] for row in rows[:limit])}],'
            f'"next_cursor":{json.dumps(cursor)}}}').encode()


# ---------------------------------------------------------------- the ORM path


def orm_page(reseller: Any, actor: Any, before: int, limit: int) -> bytes:
    from rest_framework.renderers import JSONRenderer

    from apps.api.base import keyset_page
    from apps.api.objects import ACCOUNT_COLUMNS, account_object
    from apps.subscriptions.selectors import account_list

    accounts = account_list(reseller, actor=actor, livemode=True).select_related(None).only(
        *ACCOUNT_COLUMNS)
    rows, cursor = keyset_page(accounts, cursor=str(before), limit=limit)
    return JSONRenderer().render({"data": [account_object(row) for row in rows],
                                  "next_cursor": cursor})


def timed(run: Callable[[], Any], samples: int) -> dict[str, float]:
    for _ in range(20):
        run()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(times), 3),
            "p90_ms": round(ordered[int(len(ordered) * 0.9)], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    url = bench_url()
    if "bench" not in urlparse(url).path:
        sys.exit(f"refusing {url}: a benchmark database has 'bench' in its name")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from apps.core.actors import Actor
    from apps.subscriptions.models import ServiceAccount

    call_command("migrate", verbosity=0, interactive=False)
    settings.API_RATE_LIMIT = "1000000/s"
    settings.ALLOWED_HOSTS = ["*"]
    reseller, key = fill(args.accounts)
    actor = Actor.system("bench")
    ids = list(ServiceAccount.objects.filter(reseller=reseller, livemode=True)
               .order_by("-id").values_list("id", flat=True)[: args.accounts])
    middle = ids[len(ids) // 2]
    result: dict[str, Any] = {"accounts": len(ids)}
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for limit in (50, 100):
        sql = sql_page(reseller.pk, middle, limit)
        orm = orm_page(reseller, actor, middle, limit)
        assert json.loads(sql) == json.loads(orm), "the two paths disagree"
        result[f"sql_{limit}"] = timed(partial(sql_page, reseller.pk, middle, limit),
                                       args.samples)
        result[f"orm_{limit}"] = timed(partial(orm_page, reseller, actor, middle, limit),
                                       args.samples)
        path = f"/api/v1/accounts?limit={limit}&cursor={middle}"
        assert client.get(path).status_code == 200
        result[f"request_{limit}"] = timed(partial(client.get, path), args.samples)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
