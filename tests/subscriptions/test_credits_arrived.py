"""Credits reach the pending queue as a domain event, not as an import of subscriptions."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, grant


def test_a_grant_drains_the_queue_through_the_subscriptions_consumer(reseller, plan, subscriber):
    assert "apps.subscriptions.consumers.on_domain_event" in settings.DOMAIN_EVENT_CONSUMERS
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.status == "pending"
    later = NOW + dt.timedelta(hours=1)
    grant(reseller, plan.credit_cost, now=later)
    account = ServiceAccount.objects.get(pk=account.pk)
    assert (account.status, account.starts_at) == ("active", later)
    # The caller's reseller shows the balance the queue left.
    assert reseller.credit_balance == 0


def test_without_that_consumer_credits_arrive_and_the_queue_waits(reseller, plan, subscriber,
                                                                   settings):
    settings.DOMAIN_EVENT_CONSUMERS = [
        path for path in settings.DOMAIN_EVENT_CONSUMERS
        if path != "apps.subscriptions.consumers.on_domain_event"
    ]
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    grant(reseller, plan.credit_cost, now=NOW + dt.timedelta(hours=1))
    assert ServiceAccount.objects.get(pk=account.pk).status == "pending"
    reseller.refresh_from_db()
    assert reseller.credit_balance == plan.credit_cost
