"""Benchmark of the renewal sweep. Run by hand; prints one JSON object.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp_bench \\
        .venv/bin/python bench/sweep.py --accounts 1000000

It TRUNCATES the panel's tables of the database it is given, so it refuses a
database whose name does not contain "bench". It fills PostgreSQL with
set-based inserts: 1% of accounts expiring now, 1% whose grace ends now, 3%
at a reminder offset, the rest quiet. Then it times hand-written set-based
SQL making the same writes (inside a transaction it rolls back), one sweep,
and a second sweep with nothing due.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.test")
os.environ.setdefault("NOTIFICATIONS_DISPATCH", "0")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from apps.core import crypto  # noqa: E402
from apps.subscriptions.sweep import sweep  # noqa: E402

NOW = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
GRACE_HOURS = 48
TABLES = [
    "notifications_outboxmessage", "subscriptions_reminderlog", "subscriptions_dunningcase",
    "subscriptions_accountevent", "subscriptions_pendingoperation", "credits_creditledgerentry",
    "subscriptions_serviceaccount", "subscriptions_subscriber", "subscriptions_planprice",
    "subscriptions_plan", "subscriptions_subscriptionsettings",
    "notifications_notificationsettings", "notifications_notificationtemplate",
    "audit_auditentry", "accounts_staffmembership", "accounts_reseller",
]


def fill(accounts: int) -> int:
    call_command("migrate", verbosity=0)
    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        cur.execute(
            "INSERT INTO accounts_reseller (name, slug, base_currency, timezone, country, "
            "contact_email, reactivation_policy, credit_balance, test_credit_balance, is_active, "
            "created_at) VALUES ('Bench', 'bench', 'EUR', 'UTC', '', 'owner@bench.example', "
            "'from_expiry', 1000000000, 0, true, now()) RETURNING id"
        )
        reseller_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO subscriptions_plan (reseller_id, name, tier, duration_months, "
            "credit_cost, is_trial, status, created_at) VALUES (%s, 'Monthly', '', 1, 1, false, "
            "'active', now()) RETURNING id", [reseller_id])
        plan_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO subscriptions_subscriber (reseller_id, name, email, phone, country, "
            "marketing_consent, marketing_consent_source, livemode, created_at, updated_at) "
            "SELECT %s, 'Subscriber ' || i, 's' || i || '@bench.example', '', '', false, '', "
            "true, now(), now() FROM generate_series(1, %s) AS i", [reseller_id, accounts])
        # i % 100: 0 expiring now, 1 grace ending now, 2-4 a reminder due (3 days), else quiet.
        cur.execute(
            """
            INSERT INTO subscriptions_serviceaccount (reseller_id, subscriber_id, plan_id,
                username, password_encrypted, status, pending_reason, starts_at, expires_at,
                status_changed_at, auto_renew, renewal_period_months, renewal_source, livemode,
                created_at, updated_at)
            SELECT %(r)s, i, %(p)s, 'u' || i, %(pw)s,
                CASE WHEN i %% 100 = 1 THEN 'grace' ELSE 'active' END, '',
                e - interval '1 month', e, %(now)s - interval '60 days', true, 1, 'external',
                true, %(now)s - interval '60 days', now()
            FROM (
                SELECT i, CASE
                    WHEN i %% 100 = 0 THEN %(now)s - interval '1 minute'
                    WHEN i %% 100 = 1 THEN %(now)s - interval '%(grace)s hours 1 minute'
                    WHEN i %% 100 BETWEEN 2 AND 4 THEN %(now)s + interval '3 days 1 hour'
                    ELSE %(now)s + interval '15 days' + (i %% 20) * interval '1 day'
                END AS e FROM generate_series(1, %(n)s) AS i
            ) AS g
            """,
            {"r": reseller_id, "p": plan_id, "pw": crypto.encrypt("bench-password-123"),
             "now": NOW, "grace": GRACE_HOURS, "n": accounts},
        )
        cur.execute("ANALYZE subscriptions_serviceaccount")
        cur.execute("ANALYZE subscriptions_subscriber")
    return reseller_id


SQL_FLOOR = """
WITH expired AS (
    UPDATE subscriptions_serviceaccount SET status = 'grace', status_changed_at = %(now)s,
        updated_at = %(now)s
    WHERE reseller_id = %(r)s AND status = 'active' AND expires_at <= %(now)s
    RETURNING id, reseller_id, subscriber_id, expires_at, 'active'::text AS from_status,
        'grace'::text AS to_status, 'expire'::text AS action
), suspended AS (
    UPDATE subscriptions_serviceaccount SET status = 'suspended', status_changed_at = %(now)s,
        updated_at = %(now)s
    WHERE reseller_id = %(r)s AND status = 'grace'
        AND expires_at <= %(now)s - interval '%(grace)s hours'
    RETURNING id, reseller_id, subscriber_id, expires_at, 'grace'::text AS from_status,
        'suspended'::text AS to_status, 'suspend'::text AS action
), moved AS (
    SELECT * FROM expired UNION ALL SELECT * FROM suspended
), events AS (
    INSERT INTO subscriptions_accountevent (account_id, reseller_id, created_at, action,
        actor_type, actor_label, from_status, to_status, old_expires_at, new_expires_at,
        credits_moved, reason, data)
    SELECT id, reseller_id, %(now)s, action, 'system', 'renewal-sweep', from_status, to_status,
        expires_at, expires_at, 0, '', '{}'::jsonb FROM moved
    RETURNING id
), audit AS (
    INSERT INTO audit_auditentry (created_at, reseller_id, actor_type, actor_label, action,
        object_type, object_id, before, after)
    SELECT %(now)s, reseller_id, 'system', 'renewal-sweep', 'account.' || action,
        'subscriptions.serviceaccount', id::text,
        jsonb_build_object('status', from_status), jsonb_build_object('status', to_status)
    FROM moved RETURNING id
), reminded AS (
    INSERT INTO subscriptions_reminderlog (reseller_id, account_id, period_expires_at,
        offset_days, livemode, created_at)
    SELECT reseller_id, id, expires_at, 3, livemode, %(now)s FROM subscriptions_serviceaccount
    WHERE reseller_id = %(r)s AND status = 'active'
        AND expires_at > %(now)s + interval '3 days'
        AND expires_at <= %(now)s + interval '4 days'
    ON CONFLICT DO NOTHING
    RETURNING account_id, period_expires_at
), mail AS (
    INSERT INTO notifications_outboxmessage (reseller_id, livemode, event, dedupe_key, account_id,
        recipient, subject, text_encrypted, html_encrypted, context_encrypted, status, attempts,
        next_attempt_at, created_at, last_error, provider_message_id)
    SELECT %(r)s, true, m.event, m.event || ':' || m.id, m.id, s.email, m.subject, '', '',
        %(context)s, 'not_sent_no_email_backend', 0, %(now)s, %(now)s, '', ''
    FROM (
        SELECT id, subscriber_id, CASE WHEN action = 'expire' THEN 'expired' ELSE 'suspended'
            END AS event, 'Your account changed' AS subject FROM moved
        UNION ALL
        SELECT a.id, a.subscriber_id, 'renewal_reminder', 'Your account expires in 3 days'
        FROM reminded r JOIN subscriptions_serviceaccount a ON a.id = r.account_id
    ) AS m JOIN subscriptions_subscriber s ON s.id = m.subscriber_id
    RETURNING id
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM reminded),
    (SELECT count(*) FROM events), (SELECT count(*) FROM audit), (SELECT count(*) FROM mail)
"""


def sql_floor(reseller_id: int, *, keep: bool = False) -> tuple[float, tuple[int, ...]]:
    # An outbox row keeps the subject and the template context, encrypted; the body is
    # rendered when it is delivered. This context is the size of a reminder's.
    context = crypto.encrypt("x" * 260)
    with transaction.atomic():
        started = time.monotonic()
        with connection.cursor() as cur:
            cur.execute(SQL_FLOOR, {"r": reseller_id, "now": NOW, "grace": GRACE_HOURS,
                                    "context": context})
            counts = cur.fetchone()
        elapsed = time.monotonic() - started
        transaction.set_rollback(not keep)
    return elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument(
        "--idle-only", action="store_true",
        help="Commit the set-based SQL's writes instead of sweeping, then time only the idle "
        "sweep (nothing due) over all the accounts.",
    )
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if "bench" not in str(name):
        sys.exit(f"Refusing to truncate {name!r}: point DATABASE_URL at a database named *bench*.")
    fill_started = time.monotonic()
    reseller_id = fill(args.accounts)
    fill_s = time.monotonic() - fill_started
    floor_s, floor_counts = sql_floor(reseller_id, keep=args.idle_only)
    if args.idle_only:
        idle = sweep(now=NOW)
        print(json.dumps({
            "accounts": args.accounts, "idle_only": True, "idle_sweep_s": round(idle.seconds, 3),
            "idle_items": idle.items, "sql_floor_s": round(floor_s, 3), "fill_s": round(fill_s, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }))
        return
    report = sweep(now=NOW)
    idle = sweep(now=NOW)
    items = report.items
    print(json.dumps({
        "accounts": args.accounts,
        "transitions": report.transitions,
        "reminders": report.reminders,
        "sweep_s": round(report.seconds, 3),
        "items_per_s": round(items / report.seconds, 1) if report.seconds else None,
        "idle_sweep_s": round(idle.seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "sql_floor_s": round(floor_s, 3),
        "fill_s": round(fill_s, 1),
        "sql_floor_counts": dict(zip(["transitions", "reminders", "events", "audit", "emails"],
                                     floor_counts, strict=True)),
        "errors": report.errors,
    }))


if __name__ == "__main__":
    main()
