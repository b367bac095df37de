"""Auto-renewal through the collectors, and failed collections through the failed-payment rules."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.notifications.models import OutboxMessage
from apps.payments.collectors import Collection, _load
from apps.subscriptions.models import DunningCase, ServiceAccount
from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import account_create, account_renew, account_set_renewal_source
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant

DAY = dt.timedelta(days=1)


class Declining:
    """A collector whose card is always declined (what the payments issue's card may say)."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        return Collection(ok=False, error="card declined")


@pytest.fixture
def declining(settings):
    settings.RENEWAL_COLLECTORS = {"declining": "tests.payments.test_auto_renewal_and_dunning"
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
    assert pending.recipient == reseller.contact_email and "waits for 1 credit;" in pending.text
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
    settings.RENEWAL_COLLECTORS = {"charging": "tests.payments.test_auto_renewal_and_dunning"
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
    assert "€9.99" in receipt.text
    _load.cache_clear()


def test_the_built_in_renewal_sources_are_the_shipped_collectors():
    from apps.payments.collectors import DEFAULT_COLLECTORS
    from apps.subscriptions.services.settings import BUILT_IN_RENEWAL_SOURCES

    assert set(DEFAULT_COLLECTORS) == set(BUILT_IN_RENEWAL_SOURCES)
