"""The sweep's own events reach integrators as the documented webhooks."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.api.models import WebhookDelivery
from apps.api.services import webhook_endpoint_create
from apps.subscriptions.services import account_create, subscription_settings_update
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory


@pytest.fixture(autouse=True)
def _private_urls_allowed(settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


def test_credit_floor_crossing_is_the_credits_low_webhook(reseller) -> None:
    webhook_endpoint_create(actor=SYSTEM, reseller=reseller, livemode=True,
                            url="http://127.0.0.1:9/hook", events=["credits.low"])
    subscription_settings_update(actor=SYSTEM, reseller=reseller, credit_floor=5,
                                 low_credit_recipients="alerts@reseller.example")
    grant(reseller, 3, now=NOW)
    sweep(now=NOW, reseller_slug=reseller.slug)
    delivery = WebhookDelivery.objects.get(event_type="credits.low")
    data = delivery.payload["data"]
    assert (data["balance"], data["floor"]) == (3, 5)
    assert {"needed_7_days", "needed_30_days"} <= set(data)
    assert "recipients" not in data  # internal: never sent to integrators


def test_a_reminder_is_the_account_expiring_webhook(reseller) -> None:
    webhook_endpoint_create(actor=SYSTEM, reseller=reseller, livemode=True,
                            url="http://127.0.0.1:9/hook", events=["account.expiring"])
    grant(reseller, 1, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=PlanFactory.create(reseller=reseller), now=NOW)
    assert account.expires_at is not None
    sweep(now=account.expires_at - dt.timedelta(days=7) + dt.timedelta(hours=1),
          reseller_slug=reseller.slug)
    delivery = WebhookDelivery.objects.get(event_type="account.expiring")
    assert delivery.payload["data"]["account_id"] == account.pk
    assert delivery.payload["data"]["offset_days"] == 7
