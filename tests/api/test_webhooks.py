"""Webhooks: endpoints, signed deliveries from the outbox, retries with backoff, redelivery."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.api import keys
from apps.api.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from apps.api.services import backoff, webhook_delivery_attempt
from apps.api.tasks import deliver_webhook, webhook_sweep
from apps.core.catalogue import RESELLER_CREDIT_FLOOR, CreditFloor
from apps.core.events import DomainEvent, publish
from apps.subscriptions.models import Plan

from ..conftest import grant
from .conftest import Receiver, assert_error, client_for, create_body, make_key

pytestmark = pytest.mark.django_db


def readme_verify(secret: str, header: str, raw_body: bytes, tolerance: int = 300) -> bool:
    """The recipe in README.md, verbatim."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    signed = f"{parts['t']}.".encode() + raw_body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return (hmac.compare_digest(expected, parts["v1"])
            and abs(time.time() - int(parts["t"])) <= tolerance)


def _endpoint(api: APIClient, url: str, events: list[str]) -> dict[str, Any]:
    response = api.post("/api/v1/webhook-endpoints", {"url": url, "events": events},
                        format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_delivery_is_signed_with_the_documented_recipe(
    api: APIClient, reseller: Reseller, plan: Plan, receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any], eager_celery: None,
) -> None:
    endpoint = _endpoint(api, receiver.url, ["account.created", "account.activated"])
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    assert "secret" not in api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").json()
    grant(reseller, 5)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/accounts", create_body(plan), format="json").json()
    assert [p["type"] for p in receiver.payloads()] == ["account.created", "account.activated"]
    for headers, body in receiver.requests:
        # The recipe in the README: split the header, HMAC-SHA256 "<t>.<raw body>", compare.
        parts = dict(item.split("=", 1) for item in headers["X-Signature"].split(","))
        assert readme_verify(secret, headers["X-Signature"], body)
        assert keys.verify(secret, headers["X-Signature"], body)
        assert abs(int(parts["t"]) - timezone.now().timestamp()) < 60
        assert not keys.verify("whsec_wrong", headers["X-Signature"], body)
        assert not readme_verify(secret, headers["X-Signature"], body + b" ")
        assert not readme_verify("whsec_wrong", headers["X-Signature"], body)
    payload = receiver.payloads()[0]
    assert payload["livemode"] is True and payload["data"]["account"]["id"] == created["id"]
    deliveries = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries").json()
    assert [(d["status"], d["last_status_code"]) for d in deliveries["data"]] == [
        ("succeeded", 200), ("succeeded", 200)]
    assert [a["status_code"] for a in deliveries["data"][0]["log"]] == [200]


def _credits_low(reseller: Reseller) -> DomainEvent:
    return RESELLER_CREDIT_FLOOR.event(
        reseller_id=reseller.pk, livemode=True,
        payload=CreditFloor(balance=3, floor=10, crossing=1, recipients=[], needed_7_days=0,
                            needed_30_days=0, now=timezone.now().isoformat()),
    )


def test_a_500_is_retried_with_backoff_and_each_attempt_logged(
    api: APIClient, reseller: Reseller, receiver: Receiver,
) -> None:
    _endpoint(api, receiver.url, ["credits.low"])
    publish(_credits_low(reseller))
    delivery = WebhookDelivery.objects.get()
    receiver.statuses = [500, 503]
    now = timezone.now()
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=now) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + backoff(1) == now + dt.timedelta(minutes=1)
    # Not due yet: nothing is sent.
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=now) == "pending"
    assert len(receiver.requests) == 1
    later = now + dt.timedelta(minutes=1)
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=later) == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == later + dt.timedelta(minutes=2)
    assert deliver_webhook.apply(args=(delivery.pk,)).result == "pending"  # not due
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=later + dt.timedelta(minutes=2)
                                    ) == "succeeded"
    codes = list(WebhookAttempt.objects.order_by("id").values_list("status_code", flat=True))
    assert codes == [500, 503, 200]
    assert receiver.payloads()[0]["data"] == {"balance": 3, "floor": 10, "needed_7_days": 0,
                                              "needed_30_days": 0}


def test_retries_stop_after_three_days(api: APIClient, reseller: Reseller,
                                       receiver: Receiver) -> None:
    _endpoint(api, receiver.url, ["credits.low"])
    publish(_credits_low(reseller))
    delivery = WebhookDelivery.objects.get()
    receiver.statuses = [500] * 100
    now = delivery.created_at
    while (status := webhook_delivery_attempt(delivery_id=delivery.pk, now=now)) == "pending":
        delivery.refresh_from_db()
        assert delivery.next_attempt_at is not None
        now = delivery.next_attempt_at
    assert status == "failed"
    assert now <= delivery.created_at + dt.timedelta(days=3)
    assert 10 <= WebhookAttempt.objects.count() <= 30


def test_redelivery_on_request(api: APIClient, reseller: Reseller, receiver: Receiver) -> None:
    endpoint = _endpoint(api, receiver.url, ["credits.low"])
    publish(_credits_low(reseller))
    delivery = WebhookDelivery.objects.get()
    webhook_delivery_attempt(delivery_id=delivery.pk)
    url = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery.pk}/redeliver"
    assert api.post(url).json()["status"] == "pending"
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert len(receiver.requests) == 2
    assert_error(api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/999999/"
                          "redeliver"), 404)


def test_the_sweep_requeues_due_deliveries(api: APIClient, reseller: Reseller,
                                           receiver: Receiver, eager_celery: None) -> None:
    _endpoint(api, receiver.url, ["credits.low"])
    publish(_credits_low(reseller))
    assert webhook_sweep.apply().result == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hooks", "http://localhost/x",
                                 "http://10.1.2.3/x", "http://169.254.169.254/latest",
                                 "http://[::1]/x"])
def test_private_and_loopback_urls_are_refused_by_default(api: APIClient, url: str) -> None:
    error = assert_error(api.post("/api/v1/webhook-endpoints",
                                  {"url": url, "events": ["account.created"]}, format="json"),
                         400, "url_not_allowed")
    assert error["param"] == "url"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "ftp://example.com/x", "events": ["account.created"]}, "invalid_url"),
    ({"url": "https://example.com/x", "events": ["account.deleted"]}, "invalid_choice"),
    ({"url": "https://example.com/x", "events": []}, "min_length"),
])
def test_bad_endpoints_are_refused(api: APIClient, body: dict[str, Any], code: str) -> None:
    assert_error(api.post("/api/v1/webhook-endpoints", body, format="json"), 400, code)


def test_endpoints_are_per_mode_and_reseller(
    api: APIClient, test_api: APIClient, reseller: Reseller, other_reseller: Reseller,
    receiver: Receiver,
) -> None:
    live = _endpoint(api, receiver.url, ["credits.low"])
    assert test_api.get("/api/v1/webhook-endpoints").json()["data"] == []
    assert_error(test_api.get(f"/api/v1/webhook-endpoints/{live['id']}"), 404)
    theirs = client_for(make_key(other_reseller))
    assert_error(theirs.get(f"/api/v1/webhook-endpoints/{live['id']}/deliveries"), 404)
    assert_error(theirs.delete(f"/api/v1/webhook-endpoints/{live['id']}"), 404)
    # A test-mode event never reaches a live endpoint.
    publish(dataclasses.replace(_credits_low(reseller), livemode=False))
    assert not WebhookDelivery.objects.exists()


def test_update_and_delete_an_endpoint(api: APIClient, reseller: Reseller,
                                       receiver: Receiver) -> None:
    endpoint = _endpoint(api, receiver.url, ["credits.low"])
    url = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    patched = api.patch(url, {"events": ["account.created", "payment.recorded"]}, format="json")
    assert patched.json()["events"] == ["account.created", "payment.recorded"]
    publish(_credits_low(reseller))
    assert not WebhookDelivery.objects.exists()
    assert api.delete(url).status_code == 204
    assert_error(api.get(url), 404)
    assert api.get("/api/v1/webhook-endpoints").json()["data"] == []


def test_webhooks_need_their_scope(reseller: Reseller) -> None:
    client = client_for(make_key(reseller, scopes=["accounts:write"]))
    assert_error(client.get("/api/v1/webhook-endpoints"), 403, "missing_scope")


def test_payment_recorded_event(api: APIClient, reseller: Reseller, plan: Plan,
                                receiver: Receiver) -> None:
    from apps.subscriptions.services import account_create

    from ..conftest import SYSTEM
    from ..factories import SubscriberFactory

    _endpoint(api, receiver.url, ["payment.recorded", "account.renewed"])
    grant(reseller, 5)
    account, _ = account_create(actor=SYSTEM, plan=plan,
                                subscriber=SubscriberFactory.create(reseller=reseller))
    api.post("/api/v1/payments", {"account": account.pk, "amount": 500, "currency": "USD",
                                  "reference": "R1", "paid_at": "2026-01-01T00:00:00Z"},
             format="json")
    types = sorted(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert types == ["account.renewed", "payment.recorded"]
    payment = WebhookDelivery.objects.get(event_type="payment.recorded").payload
    assert payment["data"]["amount"] == 500 and payment["data"]["currency"] == "USD"
