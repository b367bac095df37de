"""A collection (a card charge, a network call) runs with no transaction open and no row
lock held: the reseller's other credit movements go on while a collector is slow."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import connection, connections, transaction

from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.credits.services import credits_deduct
from apps.payments.collectors import Collection
from apps.subscriptions.services import account_create, account_set_renewal_source
from apps.subscriptions.sweep import SweepReport, sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory

DAY = dt.timedelta(days=1)
STARTED = threading.Event()
RELEASE = threading.Event()
calls: list[dict] = []  # what the collector saw, one entry per call


class Slow:
    """A collector that takes its time, as a card network may: it waits to be released."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        calls.append({"in_atomic_block": connection.in_atomic_block, "key": idempotency_key})
        assert not connection.in_atomic_block, "collect() runs inside a transaction"
        STARTED.set()
        RELEASE.wait(timeout=10)
        return Collection(ok=True, amount=999, currency="EUR", reference="pay_slow")


@pytest.fixture
def slow(settings):
    settings.RENEWAL_COLLECTORS = {"slow": f"{__name__}.Slow"}
    STARTED.clear()
    RELEASE.clear()
    calls.clear()
    yield
    RELEASE.set()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_slow_collection_does_not_block_a_credit_deduction(slow):
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, duration_months=1)
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source="slow")
    assert account.expires_at is not None
    period = account.expires_at
    lead = period - 3 * DAY  # the default renewal lead time
    reports: list[SweepReport] = []

    def run() -> None:
        try:
            reports.append(sweep(now=lead, reseller_slug=reseller.slug))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="sweep")
    thread.start()
    try:
        assert STARTED.wait(timeout=10), "the collector was never called"
        started = time.monotonic()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            credits_deduct(actor=SYSTEM, reseller=reseller, amount=1, kind=EntryKind.ACTIVATION,
                           idempotency_key="while-collecting", now=lead)
        elapsed = time.monotonic() - started
        assert elapsed < 1, f"the deduction waited {elapsed:.1f}s for the sweep's lock"
        assert thread.is_alive() and not RELEASE.is_set()  # the collector is still waiting
    finally:
        RELEASE.set()
        thread.join(timeout=30)
    assert len(reports) == 1
    assert (reports[0].renewed, reports[0].errors) == (1, 0), reports[0].error_messages
    expected = [{"in_atomic_block": False,
                 "key": f"renewal:{account.pk}:sweep:{period.isoformat()}"}]
    assert calls == expected

    # Once more: nothing is charged or renewed again.
    again = sweep(now=lead, reseller_slug=reseller.slug)
    assert (again.renewed, again.errors) == (0, 0)
    assert len(calls) == 1
    renewals = CreditLedgerEntry.objects.filter(account=account, kind=EntryKind.RENEWAL)
    assert renewals.count() == 1
    reseller.refresh_from_db()
    assert reseller.credit_balance == 5 - 1 - 1 - 1  # activation, the deduction, the renewal
