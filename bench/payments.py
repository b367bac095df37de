"""Benchmark of auto-renewal collections: one sweep with N accounts due, half paid by card
(Stripe off-session, against localstripe) and half from the wallet. Run by hand; prints one
JSON object.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bp_bench \\
        .venv/bin/python bench/payments.py --accounts 10000

It TRUNCATES the panel's tables of the database it is given, so it refuses a
database whose name does not contain "bench". localstripe runs in this process, as
the tests run it (tests/stripe_server.py). Subscribers, accounts and wallets are
inserted set-based; each card subscriber's customer and card are made at localstripe
through the stripe SDK, as the client area will. `panel_ms_per_renewal` is the
sweep's time less the time spent waiting on Stripe (apps.payments.stripe_api.STATS),
per renewal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.test")
os.environ.setdefault("NOTIFICATIONS_DISPATCH", "0")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402

from apps.accounts.models import Reseller  # noqa: E402
from apps.core import crypto  # noqa: E402
from apps.core.actors import Actor  # noqa: E402
from apps.payments import stripe_api  # noqa: E402
from apps.payments.models import Payment, PaymentMethod, StripeCustomer  # noqa: E402
from apps.payments.stripe_keys import stripe_keys_set  # noqa: E402
from apps.subscriptions.models import Plan, PlanPrice, Subscriber  # noqa: E402
from apps.subscriptions.sweep import sweep  # noqa: E402
from tests.stripe_server import running_stripe_server  # noqa: E402

NOW = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)
PRICE = 999
# A test-mode key of the localstripe started here, not a secret.
SECRET = "sk_test_bench"  # noqa: S105
SYSTEM = Actor.system("bench")
TABLES = [
    "payments_paymentevent", "payments_refund", "payments_walletentry", "payments_wallet",
    "payments_payment", "payments_paymentmethod", "payments_stripecustomer",
    "payments_stripekeys", "payments_stripeevent",
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
    reseller = Reseller.objects.create(
        name="Bench", slug="bench", base_currency="EUR", contact_email="owner@bench.example",
        credit_balance=10**9, test_credit_balance=10**9, created_at=NOW)
    stripe_keys_set(actor=SYSTEM, reseller=reseller, livemode=False,
                    publishable_key="pk_test_bench", secret_key=SECRET,
                    webhook_secret="whsec_test_bench", now=NOW)  # noqa: S106
    plan = Plan.objects.create(reseller=reseller, name="Monthly", duration_months=1,
                               credit_cost=1, created_at=NOW)
    PlanPrice.objects.create(plan=plan, currency="EUR", amount=PRICE)
    params: dict[str, Any] = {"r": reseller.pk, "p": plan.pk, "n": accounts, "now": NOW,
              "pw": crypto.encrypt("bench-password-123"), "price": PRICE}
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO subscriptions_subscriber (reseller_id, name, email, phone, country, "
            "marketing_consent, marketing_consent_source, livemode, language, created_at, updated_at) "
            "SELECT %(r)s, 'Subscriber ' || i, 's' || i || '@bench.example', '', '', false, '', "
            "false, '', now(), now() FROM generate_series(1, %(n)s) AS i", params)
        # Even subscribers pay by card, odd ones from a wallet holding two periods.
        cur.execute(
            """
            INSERT INTO subscriptions_serviceaccount (reseller_id, subscriber_id, plan_id,
                username, password_encrypted, status, pending_reason, starts_at, expires_at,
                status_changed_at, auto_renew, renewal_period_months, renewal_source, currency,
                livemode, created_at, updated_at)
            SELECT %(r)s, i, %(p)s, 'u' || i, %(pw)s, 'active', '',
                %(now)s - interval '1 month' + interval '1 day', %(now)s + interval '1 day',
                %(now)s - interval '30 days', true, 1,
                CASE WHEN i %% 2 = 0 THEN 'card' ELSE 'wallet' END, 'EUR', false,
                %(now)s - interval '30 days', now()
            FROM generate_series(1, %(n)s) AS i
            """, params)
        cur.execute(
            "INSERT INTO payments_wallet (reseller_id, subscriber_id, livemode, currency, "
            "balance, created_at) SELECT %(r)s, i, false, 'EUR', 2 * %(price)s, %(now)s "
            "FROM generate_series(1, %(n)s) AS i WHERE i %% 2 = 1", params)
        cur.execute(
            """
            INSERT INTO payments_walletentry (reseller_id, wallet_id, subscriber_id, livemode,
                currency, kind, delta, balance_after, idempotency_key, reference, reason,
                actor_type, actor_label, created_at)
            SELECT reseller_id, id, subscriber_id, false, 'EUR', 'top_up', balance, balance,
                'bench-top-up:' || id, 'bench', '', 'system', 'bench', %(now)s
            FROM payments_wallet
            """, params)
        cur.execute("ANALYZE")
    return reseller.pk


def save_cards(reseller_id: int) -> None:
    keys = stripe_api.keys_for(reseller_id, False)
    assert keys is not None
    customers, cards = [], []
    for subscriber_id in (Subscriber.objects.filter(reseller_id=reseller_id)
                          .annotate(odd=F("id") % 2).filter(odd=0)
                          .values_list("id", flat=True).order_by("id")):
        customer = stripe_api.customer_create(keys, email="", name=f"s{subscriber_id}",
                                              metadata={"subscriber": str(subscriber_id)},
                                              idempotency_key=f"customer-{subscriber_id}")
        pm = stripe_api.client(keys).v1.payment_methods.create(params={
            "type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                     "exp_year": 2034, "cvc": "123"}})
        stripe_api.payment_method_attach(keys, pm.id, customer=customer,
                                         idempotency_key=f"attach-{pm.id}")
        customers.append(StripeCustomer(reseller_id=reseller_id, subscriber_id=subscriber_id,
                                        livemode=False, stripe_id=customer, created_at=NOW))
        cards.append(PaymentMethod(reseller_id=reseller_id, subscriber_id=subscriber_id,
                                   livemode=False, stripe_id=pm.id, brand="visa", last4="4242",
                                   exp_month=12, exp_year=2034, is_default=True,
                                   created_at=NOW, updated_at=NOW))
    StripeCustomer.objects.bulk_create(customers, batch_size=1000)
    PaymentMethod.objects.bulk_create(cards, batch_size=1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    name = connection.settings_dict["NAME"]
    if "bench" not in str(name):
        sys.exit(f"Refusing to truncate {name!r}: point DATABASE_URL at a database named *bench*.")
    with running_stripe_server() as server:
        settings.STRIPE_API_BASE = server.url
        fill_started = time.monotonic()
        reseller_id = fill(args.accounts)
        save_cards(reseller_id)
        fill_s = time.monotonic() - fill_started
        server.requests.clear()
        stripe_api.STATS.reset()
        report = sweep(now=NOW)
        stripe_s, stripe_calls = stripe_api.STATS.seconds, stripe_api.STATS.calls
        charged = len([pi for pi in server.objects("payment_intent")
                       if pi["status"] == "succeeded"])
        again = sweep(now=NOW)
    card_payments = Payment.objects.filter(source="card", state="succeeded").count()
    renewed = report.renewed + report.renewal_queued
    print(json.dumps({
        "accounts": args.accounts,
        "due": args.accounts,
        "renewed": renewed,
        "card_payments": card_payments,
        "wallet_payments": Payment.objects.filter(source="wallet", state="succeeded").count(),
        "sweep_s": round(report.seconds, 3),
        "renewals_per_s": round(renewed / report.seconds, 1) if report.seconds else None,
        "stripe_calls": stripe_calls,
        "stripe_s": round(stripe_s, 3),
        "charges_per_payment": round(charged / card_payments, 3) if card_payments else None,
        "panel_ms_per_renewal": (round((report.seconds - stripe_s) * 1000 / renewed, 3)
                                 if renewed else None),
        "second_sweep_renewed": again.renewed,
        "errors": report.errors,
        "fill_s": round(fill_s, 1),
    }))


if __name__ == "__main__":
    main()
