"""What the sweep does when a collection fails, or when the account moves on while its
money is being taken (the collection runs with no lock held, so it can)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from apps.audit.models import AuditEntry
from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.payments.collectors import Collection
from apps.payments.services import account_set_renewal_source
from apps.subscriptions.models import DunningCase, ServiceAccount
from apps.subscriptions.services import account_create, account_renew, account_terminate
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory

DAY = dt.timedelta(days=1)
calls: list[bool] = []  # connection.in_atomic_block at each collect()


class DecliningOutsideTransactions:
    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        calls.append(connection.in_atomic_block)
        return Collection(ok=False, error="card declined")


class RenewedMeanwhile:
    """Takes the money while another door (the API) renews the same account."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        account_renew(actor=SYSTEM, account=account, idempotency_key="api-renewal",
                      now=NOW)
        return Collection(ok=True, amount=999, currency="EUR", reference="pay_meanwhile")


class TerminatedMeanwhile:
    """Takes the money while staff terminate the account."""

    renews_here = True

    def collect(self, account, *, months, idempotency_key):
        account_terminate(actor=SYSTEM, account=account, reason="fraud", now=NOW)
        return Collection(ok=True, amount=999, currency="EUR", reference="pay_orphan")


@pytest.fixture
def collectors(settings):
    settings.RENEWAL_COLLECTORS = {
        "declining": f"{__name__}.DecliningOutsideTransactions",
        "meanwhile": f"{__name__}.RenewedMeanwhile",
        "orphan": f"{__name__}.TerminatedMeanwhile",
    }
    calls.clear()


def _account(source: str):
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, duration_months=1)
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    account_set_renewal_source(actor=SYSTEM, account=account, source=source)
    assert account.expires_at is not None
    return reseller, account, account.expires_at - 3 * DAY


@pytest.mark.django_db(transaction=True)
def test_a_failed_collection_runs_outside_a_transaction_and_retries_next_day(collectors):
    reseller, account, lead = _account("declining")
    assert sweep(now=lead, reseller_slug=reseller.slug).payment_failed == 1
    case = DunningCase.objects.get(account=account)
    assert (case.status, case.attempts, case.last_error) == ("open", 1, "card declined")
    assert sweep(now=lead + DAY / 2, reseller_slug=reseller.slug).payment_failed == 0
    assert sweep(now=lead + DAY, reseller_slug=reseller.slug).payment_failed == 1
    case.refresh_from_db()
    assert (case.status, case.attempts) == ("open", 2)
    assert calls == [False, False]  # each collection with no transaction open


def test_money_taken_while_another_door_renewed_still_buys_its_period(db, collectors):
    reseller, account, lead = _account("meanwhile")
    period = account.expires_at
    report = sweep(now=lead, reseller_slug=reseller.slug)
    assert (report.renewed, report.errors) == (1, 0)
    renewals = CreditLedgerEntry.objects.filter(account=account, kind=EntryKind.RENEWAL)
    assert sorted(e.idempotency_key for e in renewals) == [
        f"renewal:{account.pk}:api-renewal", f"renewal:{account.pk}:sweep:{period.isoformat()}"]
    # Two periods on top of the first: the API's and the one the subscriber paid for.
    expires = ServiceAccount.objects.get(pk=account.pk).expires_at
    assert expires is not None and expires > period + 55 * DAY
    assert sweep(now=lead, reseller_slug=reseller.slug).renewed == 0


def test_money_taken_for_an_account_that_cannot_renew_is_reported_for_a_refund(db,
                                                                               collectors):
    reseller, account, lead = _account("orphan")
    report = sweep(now=lead, reseller_slug=reseller.slug)
    assert (report.renewed, report.errors) == (0, 1)
    assert "pay_orphan" in report.error_messages[0]
    assert "9.99 EUR" in report.error_messages[0]
    entry = AuditEntry.objects.get(action="payment.unapplied")
    assert (entry.reseller_id, entry.object_id) == (reseller.pk, str(account.pk))
    assert entry.after is not None and entry.after["reference"] == "pay_orphan"
    assert not CreditLedgerEntry.objects.filter(account=account,
                                                kind=EntryKind.RENEWAL).exists()
    # Terminated: not a candidate again, so it is not charged twice.
    assert sweep(now=lead + DAY, reseller_slug=reseller.slug).errors == 0
