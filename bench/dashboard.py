"""Benchmark of the dashboard's subscriber list and subscriber page at scale.

Fills a separate PostgreSQL database (default bp_dashboard_bench on the server
of DATABASE_URL) with one reseller's accounts by set-based SQL, then times
the pages through Django's test client (middleware, session, templates) and
prints one JSON object:

    {"accounts", "subscriber_list_p95_ms", "filtered_list_p95_ms",
     "subscriber_page_p95_ms", "queries_per_page", "overview_p95_ms",
     "settings_page_p95_ms", "billing_page_p95_ms", "outbox_rows", ...}

Every account has its welcome email in the outbox (1 in 97 failed), so the
subscriber page's notifications, the overview's email banner and the credit
figures read a full-size outbox; the credit ledger holds a renewal per account
over 400 days and the reminders of the week's expiries are sent, so the
overview's charts and renewal-queue counts read tables of a real size.

Run by hand:  .venv/bin/python bench/dashboard.py [--accounts 1000000] [--samples 30]
              [--database bp_dashboard_bench] [--only overview]
A database already filled with the same number of accounts is reused.
`--only overview` times the overview alone and prints
{"accounts", "overview_p95_ms", "overview_median_ms", "overview_queries", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1)


def bench_url(database: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing_panel")
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"/{database}"))


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill(n: int) -> dict[str, Any]:
    from django.db import connection

    from apps.accounts.models import Reseller, StaffMembership, User
    from apps.core import crypto
    from apps.subscriptions.models import Plan

    reseller = Reseller.objects.filter(slug="bench").first()
    if reseller is not None:
        have = reseller.service_accounts.count()
        if have == n:
            fill_outbox(reseller)
            fill_history(reseller)
            return {"reseller": reseller, "filled_seconds": 0.0}
        raise SystemExit(f"The bench database holds {have} accounts, not {n}: drop it first.")
    started = time.perf_counter()
    reseller = Reseller.objects.create(name="Bench", slug="bench", contact_email="b@bench.example")
    user = User.objects.create_user(email="owner@bench.example", password=None)
    StaffMembership.objects.create(user=user, reseller=reseller, role="owner")
    plans = [
        Plan.objects.create(reseller=reseller, name=f"Plan {m}m", duration_months=m, credit_cost=m)
        for m in (1, 3, 6, 12)
    ]
    secret = crypto.encrypt("bench-password")
    plan_ids = "ARRAY[" + ",".join(str(p.pk) for p in plans) + "]::bigint[]"
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO subscriptions_subscriber
              (reseller_id, name, email, phone, country, marketing_consent,
               marketing_consent_source, external_id, livemode, created_at, updated_at)
            SELECT %s, 'Person ' || g, 'person' || g || '@mail.example', '', 'ES', false, '',
                   CASE WHEN g %% 3 = 0 THEN 'EXT-' || g END, true, now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [reseller.pk, n],
        )
        cursor.execute(
            f"""
            INSERT INTO subscriptions_serviceaccount
              (reseller_id, subscriber_id, plan_id, username, password_encrypted, status,
               pending_reason, starts_at, expires_at, status_changed_at, auto_renew,
               renewal_period_months, renewal_source, livemode, created_at, updated_at)
            SELECT s.reseller_id, s.id, ({plan_ids})[1 + (s.id %% 4)], 'user' || s.id, %s,
                   CASE WHEN s.id %% 50 = 0 THEN 'grace'
                        WHEN s.id %% 37 = 0 THEN 'suspended'
                        WHEN s.id %% 101 = 0 THEN 'terminated'
                        ELSE 'active' END,
                   '',
                   now() - interval '30 days',
                   now() + ((s.id %% 400) - 30) * interval '1 day' + interval '1 hour',
                   now(), s.id %% 7 <> 0, 1,
                   CASE WHEN s.id %% 7 <> 0 THEN 'complimentary' ELSE 'external' END,
                   true, now(), now()
            FROM subscriptions_subscriber s WHERE s.reseller_id = %s
            """,
            [secret, reseller.pk],
        )
        # What autovacuum would do after a bulk load: statistics, and the GIN
        # pending lists flushed so that the trigram indexes are planned at all.
        cursor.execute("VACUUM ANALYZE subscriptions_subscriber")
        cursor.execute("VACUUM ANALYZE subscriptions_serviceaccount")
    fill_outbox(reseller)
    fill_history(reseller)
    return {"reseller": reseller, "filled_seconds": round(time.perf_counter() - started, 1)}


def fill_outbox(reseller: Any) -> None:
    """One welcome email per account in the outbox (sent, a few failed), as activation writes."""
    from django.db import connection

    from apps.core import crypto
    from apps.notifications.models import OutboxMessage

    if OutboxMessage.objects.filter(reseller=reseller).exists():
        return
    body = crypto.encrypt("Welcome. Username: user Password: bench-password")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notifications_outboxmessage
              (reseller_id, livemode, event, dedupe_key, account_id, recipient, subject,
               text_encrypted, html_encrypted, context_encrypted, status, attempts,
               next_attempt_at, last_error, provider_message_id, created_at, sent_at)
            SELECT a.reseller_id, true, 'welcome', 'welcome:bench:' || a.id, a.id,
                   'person' || a.subscriber_id || '@mail.example', 'Your account is ready',
                   %s, '', '', CASE WHEN a.id %% 97 = 0 THEN 'failed' ELSE 'sent' END, 1,
                   a.created_at, CASE WHEN a.id %% 97 = 0 THEN '550 mailbox unavailable'
                   ELSE '' END, '', a.created_at,
                   CASE WHEN a.id %% 97 = 0 THEN NULL ELSE a.created_at END
            FROM subscriptions_serviceaccount a WHERE a.reseller_id = %s
            """,
            [body, reseller.pk],
        )
        cursor.execute("VACUUM ANALYZE notifications_outboxmessage")


def timed_page(client: Any, target: str, samples: int) -> list[float]:
    client.get(target)  # warm
    timings = []
    for _ in range(samples):
        start = time.perf_counter()
        response = client.get(target)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (target, response.status_code)
    return timings


def fill_history(reseller: Any) -> None:
    """A year of credit movements and the reminders already sent, as the sweep leaves them.

    One renewal per account spread over the last 400 days (500 a day), a purchase every ten days,
    and the 7-day reminder of every active account expiring within a week: the overview's
    ledger chart and renewal-queue counts read tables of a real reseller's size.
    """
    from django.db import connection

    from apps.credits.models import CreditLedgerEntry

    if CreditLedgerEntry.objects.filter(reseller=reseller).exists():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO credits_creditledgerentry
              (reseller_id, livemode, kind, delta, balance_after, idempotency_key, reference,
               reason, price_currency, subscriber_id, account_id, actor_type, actor_label,
               created_at)
            SELECT a.reseller_id, true, 'renewal', -1, 1000000, 'bench-renewal:' || a.id, '', '',
                   '', a.subscriber_id, a.id, 'system', 'bench',
                   now() - (a.id %% 400) * interval '1 day' - (a.id %% 24) * interval '1 hour'
            FROM subscriptions_serviceaccount a WHERE a.reseller_id = %s
            UNION ALL
            SELECT %s, true, 'purchase', 5000, 1000000, 'bench-purchase:' || g, 'bench', '', '',
                   NULL, NULL, 'system', 'bench', now() - g * interval '10 days'
            FROM generate_series(0, 40) AS g
            """,
            [reseller.pk, reseller.pk],
        )
        cursor.execute(
            """
            INSERT INTO subscriptions_reminderlog
              (reseller_id, account_id, period_expires_at, offset_days, livemode, created_at)
            SELECT a.reseller_id, a.id, a.expires_at, 7, true, a.expires_at - interval '7 days'
            FROM subscriptions_serviceaccount a
            WHERE a.reseller_id = %s AND a.status = 'active'
              AND a.expires_at BETWEEN now() AND now() + interval '7 days'
            """,
            [reseller.pk],
        )
        cursor.execute("VACUUM ANALYZE credits_creditledgerentry")
        cursor.execute("VACUUM ANALYZE subscriptions_reminderlog")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--database", default="bp_dashboard_bench")
    parser.add_argument("--only", choices=["overview"],
                        help="time only this page (a quicker run while working on it)")
    args = parser.parse_args()

    url = bench_url(args.database)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    # No setup_test_environment(): its template instrumentation would be timed too.
    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    filled = fill(args.accounts)
    reseller = filled["reseller"]

    from apps.accounts.models import User
    from apps.notifications.models import OutboxMessage
    from apps.subscriptions.models import ServiceAccount

    client = Client()
    client.force_login(User.objects.get(email="owner@bench.example"))
    if args.only == "overview":
        overview_samples = timed_page(client, "/", args.samples)
        with CaptureQueriesContext(connection) as overview_queries:
            client.get("/")
        print(json.dumps({
            "accounts": ServiceAccount.objects.filter(reseller=reseller).count(),
            "overview_p95_ms": p95(overview_samples),
            "overview_median_ms": round(statistics.median(overview_samples), 1),
            "overview_queries": len(overview_queries.captured_queries),
            "samples_per_url": args.samples,
            "fill_seconds": filled["filled_seconds"],
        }))
        return
    plan_id = reseller.plans.order_by("id").values_list("id", flat=True)[1]
    middle = ServiceAccount.objects.filter(reseller=reseller).order_by("id")[
        args.accounts // 2 : args.accounts // 2 + 1].get()

    def timed(path: str, params: dict[str, Any] | None = None) -> list[float]:
        return timed_page(client, path + ("?" + urlencode(params) if params else ""),
                          args.samples)

    first = client.get("/subscribers/").content.decode()
    cursor = unquote(first.split("after=", 1)[1].split('"', 1)[0])
    list_samples = timed("/subscribers/") + timed("/subscribers/", {"after": cursor})
    filters: dict[str, dict[str, Any]] = {
        "status_grace": {"status": "grace"},
        "plan": {"plan": plan_id},
        "expiring_7": {"expiring": 7},
        "expiring_30_auto_renew_off": {"expiring": 30, "auto_renew": "no"},
        "pending": {"pending": "1"},
        "search_name": {"q": "Person 4242"},
        "search_username": {"q": "user77777"},
        "search_external_id": {"q": "EXT-3000"},
        "sort_username": {"sort": "username"},
        "sort_newest": {"sort": "newest"},
    }
    per_filter = {name: p95(timed("/subscribers/", params)) for name, params in filters.items()}
    filtered_samples: list[float] = []
    for params in filters.values():
        filtered_samples += timed("/subscribers/", params)
    page_samples = timed(f"/subscribers/{middle.subscriber_id}/")
    overview_samples = timed("/")
    settings_samples = timed("/settings/")
    billing_samples = timed("/billing/")

    with CaptureQueriesContext(connection) as list_queries:
        client.get("/subscribers/", {"status": "active"})
    with CaptureQueriesContext(connection) as page_queries:
        client.get(f"/subscribers/{middle.subscriber_id}/")

    print(json.dumps({
        "accounts": ServiceAccount.objects.filter(reseller=reseller).count(),
        "subscriber_list_p95_ms": p95(list_samples),
        "filtered_list_p95_ms": p95(filtered_samples),
        "subscriber_page_p95_ms": p95(page_samples),
        "queries_per_page": len(list_queries.captured_queries),
        "subscriber_page_queries": len(page_queries.captured_queries),
        "overview_p95_ms": p95(overview_samples),
        "settings_page_p95_ms": p95(settings_samples),
        "billing_page_p95_ms": p95(billing_samples),
        "outbox_rows": OutboxMessage.objects.filter(reseller=reseller).count(),
        "filtered_p95_ms_by_filter": per_filter,
        "median_list_ms": round(statistics.median(list_samples), 1),
        "samples_per_url": args.samples,
        "fill_seconds": filled["filled_seconds"],
    }))


if __name__ == "__main__":
    main()
