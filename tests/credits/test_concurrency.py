"""Many workers spending one reseller's credits at once: no lost update, no overdraft."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Sum

from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory

THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_creating_accounts_on_twenty_credits() -> None:
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, duration_months=1)
    subscribers = SubscriberFactory.create_batch(THREADS, reseller=reseller)
    grant(reseller, 20, now=NOW)
    barrier = threading.Barrier(THREADS)

    def create(index: int) -> str:
        try:
            barrier.wait(timeout=30)
            account, _ = account_create(actor=SYSTEM, subscriber=subscribers[index], plan=plan,
                                        now=NOW)
            return account.status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        statuses = list(pool.map(create, range(THREADS)))

    assert statuses.count("active") == 20
    assert statuses.count("pending") == 30
    reseller.refresh_from_db()
    assert reseller.credit_balance == 0
    entries = list(CreditLedgerEntry.objects.filter(reseller=reseller).order_by("id"))
    assert sum(e.delta for e in entries) == reseller.credit_balance
    running = 0
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running >= 0
    assert ServiceAccount.objects.filter(reseller=reseller, status="active").count() == 20
    assert (
        CreditLedgerEntry.objects.filter(reseller=reseller, kind="activation").aggregate(
            s=Sum("delta")
        )["s"]
        == -20
    )
