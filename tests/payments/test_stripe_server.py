"""The Stripe the tests run against: localstripe, and what tests/stripe_server.py adds to it,
driven through apps.payments.stripe_api with the real stripe SDK."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import stripe
from django.utils import timezone

from apps.core import crypto
from apps.payments import stripe_api
from apps.payments.models import StripeKeys

from ..stripe_server import StripeServer, sign

SECRET = "sk_test_panel_one_4242"
WHSEC = "whsec_test_endpoint_secret"


def make_keys(secret: str = SECRET, *, livemode: bool = False) -> StripeKeys:
    # An unsaved row is all stripe_api needs: the mode and the encrypted secret.
    return StripeKeys(livemode=livemode, publishable_key="pk_test_x",
                      secret_key_encrypted=crypto.encrypt(secret), updated_at=timezone.now())


def customer_with_card(server: StripeServer, keys: StripeKeys, number: str,
                       key: str = "c1") -> tuple[str, str]:
    customer = stripe_api.customer_create(keys, email="ana@example.com", name="Ana",
                                          metadata={"subscriber": "1"},
                                          idempotency_key=f"customer-{key}")
    pm = server.card(number, secret_key=crypto.decrypt(keys.secret_key_encrypted))
    stripe_api.payment_method_attach(keys, pm, customer=customer,
                                     idempotency_key=f"attach-{key}")
    return customer, pm


def charge(keys: StripeKeys, customer: str, pm: str, *, key: str = "pay-1",
           amount: int = 1500) -> object:
    return stripe_api.payment_intent_charge(
        keys, amount=amount, currency="EUR", customer=customer, payment_method=pm,
        idempotency_key=key, metadata={"payment": "1"}, description="Monthly renewal")


def test_an_off_session_charge_of_a_saved_card_succeeds(stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")

    intent = charge(keys, customer, pm)

    assert intent.status == "succeeded"  # type: ignore[attr-defined]
    assert intent.amount == 1500  # type: ignore[attr-defined]
    assert intent.description == "Monthly renewal"  # type: ignore[attr-defined]
    assert stripe_api.payment_intent_retrieve(keys, intent.id).status == "succeeded"  # type: ignore[attr-defined]


def test_the_same_idempotency_key_replays_the_first_answer_and_charges_once(
        stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")

    first = charge(keys, customer, pm, key="renewal-7")
    second = charge(keys, customer, pm, key="renewal-7")

    assert second.id == first.id  # type: ignore[attr-defined]
    assert len(stripe_base.objects("payment_intent")) == 1
    posts = stripe_base.calls("POST", "/v1/payment_intents")
    assert [(r.idempotency_key, r.status, r.replayed) for r in posts] == [
        ("renewal-7", 200, False), ("renewal-7", 200, True)]


def test_the_same_key_with_other_parameters_is_an_idempotency_error(
        stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")
    charge(keys, customer, pm, key="renewal-8", amount=1500)

    with pytest.raises(stripe_api.StripeRejected) as caught:
        charge(keys, customer, pm, key="renewal-8", amount=2500)

    assert isinstance(caught.value.__cause__, stripe.IdempotencyError)
    assert len(stripe_base.objects("payment_intent")) == 1


def test_idempotency_keys_belong_to_one_secret_key(stripe_base: StripeServer) -> None:
    one, other = make_keys(), make_keys("sk_test_panel_two_5555")
    first = stripe_api.customer_create(one, email="", name="A", metadata={},
                                       idempotency_key="same")
    second = stripe_api.customer_create(other, email="", name="B", metadata={},
                                        idempotency_key="same")

    assert first != second
    assert len(stripe_base.objects("customer")) == 2


def test_a_card_declined_at_charge_carries_its_decline_code_and_payment_intent(
        stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4000000000000341")

    with pytest.raises(stripe_api.StripeDeclined) as caught:
        charge(keys, customer, pm)

    declined = caught.value
    assert (declined.code, declined.decline_code) == ("card_declined", "generic_decline")
    assert not declined.needs_authentication
    assert declined.payment_intent.status == "requires_payment_method"
    stored = stripe_api.payment_intent_retrieve(keys, declined.payment_intent.id)
    assert stored.last_payment_error.decline_code == "generic_decline"


def test_insufficient_funds_is_declined_with_its_decline_code(stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer = stripe_api.customer_create(keys, email="", name="A", metadata={},
                                          idempotency_key="customer")
    pm = stripe_base.card("4000000000009995", secret_key=SECRET)

    with pytest.raises(stripe_api.StripeDeclined) as caught:
        stripe_api.payment_method_attach(keys, pm, customer=customer, idempotency_key="attach")

    assert (caught.value.code, caught.value.decline_code) == ("card_declined",
                                                              "insufficient_funds")


@pytest.mark.parametrize("number", ["4000002760003184", "4000002500003155"])
def test_a_card_that_needs_its_holder_fails_off_session_with_authentication_required(
        stripe_base: StripeServer, number: str) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, number)

    with pytest.raises(stripe_api.StripeDeclined) as caught:
        charge(keys, customer, pm)

    declined = caught.value
    assert declined.needs_authentication
    assert declined.payment_intent.status == "requires_payment_method"
    stored = stripe_api.payment_intent_retrieve(keys, declined.payment_intent.id)
    assert stored.status == "requires_payment_method"
    assert stored.last_payment_error.code == "authentication_required"
    assert stored.last_payment_error.payment_method.id == pm


def test_a_declined_answer_is_replayed_for_the_same_key(stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4000000000000341")
    with pytest.raises(stripe_api.StripeDeclined) as first:
        charge(keys, customer, pm, key="k")
    with pytest.raises(stripe_api.StripeDeclined) as second:
        charge(keys, customer, pm, key="k")

    assert second.value.payment_intent.id == first.value.payment_intent.id
    assert len(stripe_base.objects("payment_intent")) == 1


def test_a_charge_carried_out_but_answered_too_late_is_unknown_then_found_by_its_key(
        stripe_base: StripeServer, settings: object) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")
    settings.STRIPE_TIMEOUT_SECONDS = 0.3  # type: ignore[attr-defined]
    stripe_base.hang_next(1, seconds=2, carried_out=True)

    started = time.monotonic()
    with pytest.raises(stripe_api.StripeUnavailable):
        charge(keys, customer, pm, key="late")
    assert time.monotonic() - started < 1.5

    [intent] = stripe_base.objects("payment_intent")
    assert intent["status"] == "succeeded"
    again = charge(keys, customer, pm, key="late")
    assert again.id == intent["id"]  # type: ignore[attr-defined]
    assert len(stripe_base.objects("payment_intent")) == 1


def test_a_charge_that_never_reached_stripe_is_unknown_and_made_by_the_retry(
        stripe_base: StripeServer, settings: object) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")
    settings.STRIPE_TIMEOUT_SECONDS = 0.3  # type: ignore[attr-defined]
    stripe_base.hang_next(1, seconds=0.5, carried_out=False)

    with pytest.raises(stripe_api.StripeUnavailable):
        charge(keys, customer, pm, key="lost")
    assert stripe_base.objects("payment_intent") == []

    assert charge(keys, customer, pm, key="lost").status == "succeeded"  # type: ignore[attr-defined]
    assert len(stripe_base.objects("payment_intent")) == 1
    assert [r.hung for r in stripe_base.calls("POST", "/v1/payment_intents")] == [True, False]


def test_refunds_in_part_and_in_full(stripe_base: StripeServer) -> None:
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")
    intent = charge(keys, customer, pm, amount=2000)

    part = stripe_api.refund_create(keys, payment_intent=intent.id, amount=500,  # type: ignore[attr-defined]
                                    idempotency_key="refund-1", metadata={"refund": "1"})
    replay = stripe_api.refund_create(keys, payment_intent=intent.id, amount=500,  # type: ignore[attr-defined]
                                      idempotency_key="refund-1", metadata={"refund": "1"})

    assert (part.status, part.amount, replay.id) == ("succeeded", 500, part.id)
    assert len(stripe_base.objects("refund")) == 1


def test_a_rejected_key_is_refused_and_balance_reads_per_currency(
        stripe_base: StripeServer) -> None:
    assert stripe_api.account_check(make_keys()).startswith("Stripe test account reached")
    assert "live" in stripe_api.account_check(make_keys("sk_live_x", livemode=True))
    assert stripe_api.account_check(make_keys("rk_test_restricted"))
    stripe_base.reject_key("sk_test_revoked")

    with pytest.raises(stripe_api.StripeRejected):
        stripe_api.account_check(make_keys("sk_test_revoked"))


def test_webhooks_are_signed_caught_and_verified(stripe_base: StripeServer) -> None:
    stripe_base.webhook_endpoint(WHSEC, events=["payment_intent.succeeded"])
    keys = make_keys()
    customer, pm = customer_with_card(stripe_base, keys, "4242424242424242")
    intent = charge(keys, customer, pm)

    [delivery] = stripe_base.wait_for_event("payment_intent.succeeded", timeout=3)

    event = stripe_api.event_verified(delivery.payload, delivery.signature, WHSEC)
    assert event.data.object.id == intent.id  # type: ignore[attr-defined]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe_api.event_verified(delivery.payload, delivery.signature, "whsec_other")


def test_the_signing_helper_signs_as_stripe_does() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "ping"})

    assert stripe_api.event_verified(payload.encode(), sign(payload, WHSEC), WHSEC).id == "evt_1"
    stale = sign(payload, WHSEC, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe_api.event_verified(payload.encode(), stale, WHSEC)


def test_a_reset_empties_the_store(stripe_base: StripeServer) -> None:
    stripe_api.customer_create(make_keys(), email="", name="A", metadata={},
                               idempotency_key="x")
    stripe_base.reset()

    assert stripe_base.objects("customer") == []
    assert stripe_base.requests == []


def test_another_process_reaches_the_server_by_its_url(stripe_base: StripeServer) -> None:
    code = ("import stripe, sys; c = stripe.StripeClient('sk_test_sub', "
            "base_addresses={'api': sys.argv[1]}); "
            "print(c.v1.customers.create(params={'name': 'x'}).id)")
    out = subprocess.run([sys.executable, "-c", code, stripe_base.url],  # noqa: S603
                         capture_output=True,
                         text=True, timeout=30, check=True)

    assert out.stdout.startswith("cus_")
    assert [c["id"] for c in stripe_base.objects("customer")] == [out.stdout.strip()]
