"""Credit-floor alerts once per crossing; an activation waiting for credits tells the reseller."""

from __future__ import annotations

import datetime as dt

from apps.notifications.models import OutboxMessage
from apps.subscriptions.services import account_create, subscription_settings_update
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory

DAY = dt.timedelta(days=1)


def _floor_alerts(reseller) -> list[str]:
    return [m.text for m in OutboxMessage.objects.filter(reseller=reseller,
                                                         event="credit_floor").order_by("id")]


def test_the_credit_floor_alert_fires_once_per_crossing(reseller, plan):
    subscription_settings_update(actor=SYSTEM, reseller=reseller, credit_floor=5,
                                 low_credit_recipients="ops@reseller.example")
    yearly = PlanFactory.create(reseller=reseller, name="Yearly", duration_months=12)
    grant(reseller, 20, now=NOW)
    sweep(now=NOW)
    assert _floor_alerts(reseller) == []

    # Spend down to 2 credits: below the floor.
    for _ in range(6):
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=plan, now=NOW - 25 * DAY)
    account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                   plan=yearly, now=NOW)
    for minutes in range(0, 60, 15):
        sweep(now=NOW + dt.timedelta(minutes=minutes))
    alerts = _floor_alerts(reseller)
    assert len(alerts) == 1
    # Six monthly accounts renew within 7 days (6 credits); the yearly one not within 30.
    assert "balance is 2" in alerts[0]
    assert "next 7 days need 6 credits" in alerts[0] and "next 30 days, 6" in alerts[0]
    assert OutboxMessage.objects.get(event="credit_floor").recipient == "ops@reseller.example"

    grant(reseller, 10, now=NOW + DAY)  # 12: above the floor, armed again
    sweep(now=NOW + DAY)
    assert len(_floor_alerts(reseller)) == 1
    account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                   plan=yearly, now=NOW + DAY)  # 0 left: a second crossing
    sweep(now=NOW + DAY + dt.timedelta(minutes=15))
    sweep(now=NOW + DAY + dt.timedelta(minutes=30))
    assert len(_floor_alerts(reseller)) == 2


def test_an_activation_waiting_for_credits_tells_the_reseller(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.status == "pending"
    row = OutboxMessage.objects.get(account=account, event="pending_credits")
    assert row.recipient == reseller.contact_email
    assert "activation" in row.text and "waits for 1 credit;" in row.text
    assert not OutboxMessage.objects.filter(account=account, event="welcome").exists()
    grant(reseller, 1, now=NOW)
    assert OutboxMessage.objects.filter(account=account, event="welcome").count() == 1
