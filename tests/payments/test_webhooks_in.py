"""Stripe's webhooks in, signed as Stripe signs them and posted to
/webhooks/stripe/<slug>/<test|live>/: a duplicate, events out of order, a stale
timestamp, a bad signature, an unknown reseller; each answered as it should be and
nothing applied twice."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.notifications.models import OutboxMessage
from apps.payments.models import Payment, PaymentState, StripeEvent
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.sweep import sweep

from ..conftest import NOW
from ..stripe_server import StripeServer, sign
from .cards import (
    OK_CARD,
    priced_plan,
    renewing_account,
    save_card,
    seller,
    webhook_secret_for,
)

_ids = itertools.count(1)


def event(type_: str, obj: dict, *, livemode: bool = False) -> bytes:
    return json.dumps({
        "id": f"evt_test_{next(_ids)}", "object": "event", "type": type_,
        "livemode": livemode, "created": int(time.time()), "api_version": "2024-06-20",
        "data": {"object": obj},
    }).encode()


def post(client: Client, slug: str, payload: bytes, secret: str, *, mode: str = "test",
         timestamp: int | None = None):
    return client.post(reverse("payments_stripe_webhook", args=[slug, mode]), data=payload,
                       content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=sign(payload, secret, timestamp=timestamp))


@pytest.fixture
def unknown_payment(db: None, stripe_base: StripeServer, settings):
    """A card renewal charged at Stripe whose answer never came back: `unknown`."""
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    reseller = seller()
    account = renewing_account(reseller, priced_plan(reseller), source="card", now=NOW)
    save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
    assert account.expires_at is not None
    at = account.expires_at - dt.timedelta(days=3)
    stripe_base.hang_next(1, seconds=1, path=r"/v1/payment_intents", carried_out=True)
    with time_machine.travel(at, tick=False):
        assert sweep(now=at, reseller_slug=reseller.slug).payment_pending == 1
    time.sleep(1)
    payment = Payment.objects.get(account=account)
    assert payment.state == PaymentState.UNKNOWN
    [intent] = stripe_base.objects("payment_intent")
    return account, payment, intent, at + dt.timedelta(minutes=1)


def renewals(account: ServiceAccount) -> int:
    return CreditLedgerEntry.objects.filter(account=account, kind=EntryKind.RENEWAL).count()


def receipts(account: ServiceAccount) -> int:
    return OutboxMessage.objects.filter(account=account, event="payment_receipt").count()


def test_a_succeeded_event_settles_the_payment_once_and_its_duplicate_changes_nothing(
        unknown_payment, client: Client) -> None:
    account, payment, intent, at = unknown_payment
    secret = webhook_secret_for(account.reseller, livemode=False)
    with time_machine.travel(at, tick=False):
        body = event("payment_intent.succeeded", {"id": intent["id"],
                                                  "object": "payment_intent"})
        first = post(client, account.reseller.slug, body, secret)
        again = post(client, account.reseller.slug, body, secret)

    assert first.status_code == 200 and first.json()["result"].startswith(
        f"payment {payment.pk} succeeded; renewed")
    assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": True})
    payment.refresh_from_db()
    assert (payment.state, payment.stripe_payment_intent) == ("succeeded", intent["id"])
    assert payment.applied_at is not None
    assert (renewals(account), receipts(account)) == (1, 1)
    assert StripeEvent.objects.filter(reseller=account.reseller).count() == 1
    # The sweep and the janitor after it find the period paid.
    with time_machine.travel(at, tick=False):
        assert sweep(now=at, reseller_slug=account.reseller.slug).renewed == 0
    assert (renewals(account), receipts(account)) == (1, 1)


def test_events_out_of_order_apply_the_object_as_stripe_has_it_now(
        unknown_payment, client: Client) -> None:
    """A payment_failed sent after the payment succeeded (Stripe does not promise order):
    the intent is fetched, it is succeeded, and nothing moves back."""
    account, payment, intent, at = unknown_payment
    secret = webhook_secret_for(account.reseller, livemode=False)
    obj = {"id": intent["id"], "object": "payment_intent", "status": "requires_payment_method"}
    with time_machine.travel(at, tick=False):
        late_failure = post(client, account.reseller.slug,
                            event("payment_intent.payment_failed", obj), secret)
        success = post(client, account.reseller.slug,
                       event("payment_intent.succeeded", {**obj, "status": "succeeded"}),
                       secret)
        older_failure = post(client, account.reseller.slug,
                             event("payment_intent.payment_failed", obj), secret)

    # The first, though it says failed, found the intent succeeded at Stripe.
    assert [r.status_code for r in (late_failure, success, older_failure)] == [200] * 3
    assert late_failure.json()["result"] == f"payment {payment.pk} succeeded; renewed"
    assert success.json()["result"] == f"payment {payment.pk} succeeded; not_applicable"
    payment.refresh_from_db()
    assert payment.state == "succeeded" and payment.error_code == ""
    assert (renewals(account), receipts(account)) == (1, 1)
    assert not OutboxMessage.objects.filter(account=account, event="payment_failed").exists()
    assert StripeEvent.objects.filter(reseller=account.reseller).count() == 3


def test_a_stale_timestamp_a_bad_signature_and_wrong_addresses_are_refused(
        unknown_payment, client: Client) -> None:
    account, payment, intent, at = unknown_payment
    slug = account.reseller.slug
    secret = webhook_secret_for(account.reseller, livemode=False)
    with time_machine.travel(at, tick=False):
        body = event("payment_intent.succeeded", {"id": intent["id"],
                                                  "object": "payment_intent"})
        stale = post(client, slug, body, secret, timestamp=int(time.time()) - 301)
        forged = post(client, slug, body, "whsec_someone_else")
        live_url = post(client, slug, body, secret, mode="live")
        other_mode = post(client, slug, event("payment_intent.succeeded",
                                              {"id": intent["id"], "object": "payment_intent"},
                                              livemode=True), secret)
        nobody = post(client, "no-such-reseller", body, secret)
        not_json = client.post(reverse("payments_stripe_webhook", args=[slug, "test"]),
                               data=b"not json", content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=sign(b"not json", secret))

    def code(response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["code"]

    assert code(stale) == (400, "invalid_signature")
    assert code(forged) == (400, "invalid_signature")
    assert code(live_url) == (404, "webhook_not_configured")  # no live keys
    assert code(other_mode) == (400, "livemode_mismatch")
    assert code(nobody) == (404, "reseller_not_found")
    assert code(not_json) == (400, "invalid_json")
    # Nothing was stored or applied; the payment still waits for the janitor.
    assert not StripeEvent.objects.exists()
    payment.refresh_from_db()
    assert payment.state == PaymentState.UNKNOWN
    assert (renewals(account), receipts(account)) == (0, 0)
    # The genuine event afterwards still works: a refusal stored nothing under its id.
    with time_machine.travel(at, tick=False):
        assert post(client, slug, body, secret).json()["result"].endswith("renewed")
    assert (renewals(account), receipts(account)) == (1, 1)
