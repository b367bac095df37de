"""Charged once, whatever fails: a sweep process killed after Stripe took the money and
before the renewal committed, and Stripe answering with a timeout.

The killed sweep is a real `manage.py sweep` in its own process, on the test
database and the in-process localstripe; localstripe makes the charge and then
holds its answer, and the test SIGKILLs the process while it waits.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import time_machine
from django.db import connection

from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.notifications.models import OutboxMessage
from apps.payments.charges import payments_janitor
from apps.payments.models import Payment, PaymentState
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.sweep import sweep

from ..conftest import NOW
from ..stripe_server import StripeServer
from .cards import (
    OK_CARD,
    PRICE,
    charged_at_stripe,
    intents_at_stripe,
    priced_plan,
    renewing_account,
    save_card,
    seller,
)

ROOT = Path(__file__).resolve().parents[2]
CHARGE = r"/v1/payment_intents"
# `manage.py sweep --now`, with the clock at that time too (the rows it stamps itself).
SWEEP_AT = """
import sys, django, time_machine
django.setup()
from django.core.management import call_command
with time_machine.travel(sys.argv[1], tick=False):
    call_command("sweep", "--now", sys.argv[1], "--reseller", sys.argv[2])
"""


def card_account():
    reseller = seller()
    account = renewing_account(reseller, priced_plan(reseller), source="card", now=NOW)
    assert account.expires_at is not None
    return account, account.expires_at - dt.timedelta(days=3)


def database_url() -> str:
    db = connection.settings_dict
    return (f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{db['NAME']}")


def assert_charged_and_renewed_once(server: StripeServer, account: ServiceAccount) -> None:
    period = account.expires_at
    account.refresh_from_db()
    assert account.expires_at is not None and period is not None
    assert account.expires_at > period
    payments = list(Payment.objects.filter(account=account))
    assert [(p.state, p.amount) for p in payments] == [(PaymentState.SUCCEEDED, PRICE)]
    assert payments[0].applied_at is not None
    assert [pi["amount"] for pi in charged_at_stripe(server, account.subscriber)] == [PRICE]
    assert len(intents_at_stripe(server, account.subscriber)) == 1
    assert CreditLedgerEntry.objects.filter(account=account, kind=EntryKind.RENEWAL).count() == 1
    assert OutboxMessage.objects.filter(account=account, event="payment_receipt").count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["sweep", "janitor"])
def test_a_sweep_killed_after_the_charge_is_charged_and_renewed_once(
        stripe_base: StripeServer, first: str) -> None:
    account, at = card_account()
    save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
    # Stripe makes the charge, then keeps its answer back for five seconds.
    stripe_base.hang_next(1, seconds=5, path=CHARGE, carried_out=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billing_panel.settings.test",
           "DATABASE_URL": database_url(), "STRIPE_API_BASE": stripe_base.url,
           "STRIPE_TIMEOUT_SECONDS": "120"}
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", SWEEP_AT, at.isoformat(), account.reseller.slug], cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not [pi for pi in stripe_base.objects("payment_intent")
                   if pi["status"] == "succeeded"]:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sweep never charged the card"
            time.sleep(0.05)
        # Charged at Stripe, the answer not yet back: the panel knows only its own row.
        assert [p.state for p in Payment.objects.filter(account=account)] == ["processing"]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert ServiceAccount.objects.get(pk=account.pk).expires_at == account.expires_at
    assert CreditLedgerEntry.objects.filter(account=account, kind=EntryKind.RENEWAL).count() == 0

    later = at + dt.timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        settle(account, first, later)

    assert_charged_and_renewed_once(stripe_base, account)
    # Asked again with the same key: Stripe replayed its first answer.
    posts = stripe_base.calls("POST", CHARGE)
    assert len({r.idempotency_key for r in posts}) == 1
    assert [r.replayed for r in posts][1:] == [True] * (len(posts) - 1)


def settle(account: ServiceAccount, first: str, later: dt.datetime) -> None:
    if first == "sweep":
        report = sweep(now=later, reseller_slug=account.reseller.slug)
        assert (report.renewed, report.errors) == (1, 0), report
        janitor = payments_janitor(now=later + dt.timedelta(minutes=10))
        assert (janitor.resolved, janitor.applied, janitor.errors) == (0, 0, [])
    else:
        janitor = payments_janitor(now=later)
        assert (janitor.resolved, janitor.applied, janitor.errors) == (1, 1, [])
        report = sweep(now=later, reseller_slug=account.reseller.slug)
        assert (report.renewed, report.errors) == (0, 0)


@pytest.mark.parametrize("carried_out", [True, False], ids=["charged", "never_arrived"])
def test_a_timeout_leaves_the_payment_unknown_until_the_janitor_asks_again(
        db: None, stripe_base: StripeServer, settings, carried_out: bool) -> None:
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    account, at = card_account()
    save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
    stripe_base.hang_next(1, seconds=1.5, path=CHARGE, carried_out=carried_out)

    report = sweep(now=at, reseller_slug=account.reseller.slug)

    assert (report.renewed, report.payment_failed, report.payment_pending) == (0, 0, 1)
    payment = Payment.objects.get(account=account)
    assert payment.state == PaymentState.UNKNOWN
    assert ServiceAccount.objects.get(pk=account.pk).expires_at == account.expires_at
    # Not told it failed, nor paid.
    assert not OutboxMessage.objects.filter(
        account=account, event__in=["payment_failed", "payment_receipt"]).exists()
    time.sleep(1.5)  # localstripe's late answer goes nowhere

    janitor = payments_janitor(now=at + dt.timedelta(minutes=1))

    assert (janitor.resolved, janitor.applied, janitor.still_open) == (1, 1, 0)
    assert_charged_and_renewed_once(stripe_base, account)
    assert [e.to_state for e in payment.events.order_by("id")] == [
        "processing", "unknown", "succeeded"]
    # The next sweeps find the period paid: nothing more at Stripe.
    posts = len(stripe_base.calls("POST", CHARGE))
    sweep(now=at + dt.timedelta(hours=6), reseller_slug=account.reseller.slug)
    assert len(stripe_base.calls("POST", CHARGE)) == posts


@pytest.mark.parametrize("carried_out", [True, False], ids=["charged", "never_arrived"])
def test_a_payment_unknown_past_stripes_key_window_is_found_among_the_customers_intents(
        db: None, stripe_base: StripeServer, settings, carried_out: bool) -> None:
    """After 24 hours Stripe forgets the key: asking again would charge again, so the janitor
    looks the payment up among the customer's PaymentIntents instead."""
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    account, at = card_account()
    save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
    stripe_base.hang_next(1, seconds=1.5, path=CHARGE, carried_out=carried_out)
    with time_machine.travel(at, tick=False):
        assert sweep(now=at, reseller_slug=account.reseller.slug).payment_pending == 1
    time.sleep(1.5)
    posts = len(stripe_base.calls("POST", CHARGE))
    a_day_later = at + dt.timedelta(hours=30)

    with time_machine.travel(a_day_later, tick=False):
        janitor = payments_janitor(now=a_day_later)

    assert len(stripe_base.calls("POST", CHARGE)) == posts  # never asked to charge again
    payment = Payment.objects.get(account=account)
    if carried_out:
        assert (janitor.resolved, janitor.applied) == (1, 1)
        assert_charged_and_renewed_once(stripe_base, account)
    else:
        assert (janitor.resolved, janitor.applied) == (1, 0)
        assert (payment.state, payment.error_code) == ("failed", "not_charged")
        assert stripe_base.objects("payment_intent") == []
