"""Credit-floor alerts once per crossing; failed collections follow the failed-payment rules."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.notifications.models import OutboxMessage
from apps.subscriptions.collectors import Collection, _load
from apps.subscriptions.models import DunningCase, ServiceAccount
from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import (
    account_create,
    account_renew,
    account_set_renewal_source,
    subscription_settings_update,
)
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


class Declining:
    """A collector whose card is always declined (what the payments issue's card may say)."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        return Collection(ok=False, error="card declined")


@pytest.fixture
def declining(settings):
    settings.RENEWAL_COLLECTORS = {"declining": "tests.subscriptions.test_sweep_floor_and_dunning"
                                                ".Declining"}
    _load.cache_clear()
    yield
    _load.cache_clear()


def test_a_failed_collection_follows_the_failed_payment_rules(reseller, plan, subscriber,
                                                              declining):
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source="declining")
    assert account.expires_at is not None
    lead = account.expires_at - 3 * DAY  # the default renewal lead time

    def day(n: float) -> dt.datetime:
        return lead + dt.timedelta(days=n)

    assert sweep(now=day(0)).payment_failed == 1
    case = DunningCase.objects.get(account=account)
    assert (case.status, case.last_error) == ("open", "card declined")
    queue = {a.pk: getattr(a, "queue_reason") for a in renewal_queue(reseller, actor=SYSTEM, now=day(0))}  # noqa: B009
    assert queue[account.pk] == "payment_failed"
    assert sweep(now=day(0.5)).payment_failed == 0  # retried daily, not every sweep
    report = sweep(now=day(1))
    assert (report.payment_failed, report.dunning_reminders) == (1, 1)
    assert sweep(now=day(2)).dunning_reminders == 0
    assert sweep(now=day(3)).dunning_suspended == 1
    assert ServiceAccount.objects.get(pk=account.pk).status == "suspended"
    assert sweep(now=day(7)).dunning_terminated == 1
    assert ServiceAccount.objects.get(pk=account.pk).status == "terminated"
    # The failure itself and the reminder a day later.
    assert OutboxMessage.objects.filter(account=account, event="payment_failed").count() == 2
    assert DunningCase.objects.get(pk=case.pk).status == "closed"


def test_a_renewal_by_other_means_resolves_the_dunning_case(reseller, plan, subscriber,
                                                            declining):
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source="declining")
    assert account.expires_at is not None
    lead = account.expires_at - 3 * DAY
    sweep(now=lead)
    account_renew(actor=SYSTEM, account=account, now=lead + DAY / 2)
    sweep(now=lead + 3 * DAY)
    assert DunningCase.objects.get(account=account).status == "resolved"
    assert ServiceAccount.objects.get(pk=account.pk).status == "active"


def test_complimentary_auto_renewal_waits_for_credits_and_tells_the_reseller(reseller, plan,
                                                                              subscriber):
    grant(reseller, 1, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source="complimentary")
    assert account.expires_at is not None
    lead = account.expires_at - 3 * DAY
    assert sweep(now=lead).renewal_queued == 1
    assert sweep(now=lead + DAY).renewal_queued == 0
    pending = OutboxMessage.objects.get(account=account, event="pending_credits")
    assert pending.recipient == reseller.contact_email and "waits for 1 credits" in pending.text
    queue = {a.pk: getattr(a, "queue_reason") for a in renewal_queue(reseller, actor=SYSTEM, now=lead)}  # noqa: B009
    assert queue[account.pk] == "pending_credits"
    grant(reseller, 1, now=lead + DAY)
    renewed = ServiceAccount.objects.get(pk=account.pk).expires_at
    assert renewed is not None and renewed > account.expires_at


class Charging:
    """A collector that takes the subscriber's money (as the payments issue's wallet will)."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        return Collection(ok=True, amount=999, currency="EUR", reference="pay_123")


def test_a_collected_renewal_sends_a_receipt_once(reseller, plan, subscriber, settings):
    settings.RENEWAL_COLLECTORS = {"charging": "tests.subscriptions.test_sweep_floor_and_dunning"
                                               ".Charging"}
    _load.cache_clear()
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source="charging")
    assert account.expires_at is not None
    lead = account.expires_at - 3 * DAY
    assert sweep(now=lead).renewed == 1
    assert sweep(now=lead).renewed == 0
    receipt = OutboxMessage.objects.get(account=account, event="payment_receipt")
    assert "9.99 EUR" in receipt.text
    _load.cache_clear()


def test_an_activation_waiting_for_credits_tells_the_reseller(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.status == "pending"
    row = OutboxMessage.objects.get(account=account, event="pending_credits")
    assert row.recipient == reseller.contact_email
    assert "activation" in row.text and "waits for 1 credits" in row.text
    assert not OutboxMessage.objects.filter(account=account, event="welcome").exists()
    grant(reseller, 1, now=NOW)
    assert OutboxMessage.objects.filter(account=account, event="welcome").count() == 1
