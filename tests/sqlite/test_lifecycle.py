"""An account's whole life through the public services, on SQLite."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core import crypto
from apps.core.dates import add_months
from apps.core.errors import InsufficientCredits, StateConflict
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import AccountEvent, PendingOperation, ServiceAccount
from apps.subscriptions.services import (
    account_activate,
    account_change_plan,
    account_create,
    account_renew,
    account_suspend,
    account_terminate,
    account_unsuspend,
)
from tests.conftest import NOW, SYSTEM, grant
from tests.factories import PlanFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def actions(account: ServiceAccount) -> list[str]:
    return list(AccountEvent.objects.filter(account=account).order_by("id")
                .values_list("action", flat=True))


def test_create_on_credits_activates_and_deducts(reseller, plan, subscriber):
    grant(reseller, 3, now=NOW)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.status == "active"
    assert (account.starts_at, account.expires_at) == (NOW, add_months(NOW, 1))
    assert crypto.decrypt(account.password_encrypted) == password
    reseller.refresh_from_db()
    assert reseller.credit_balance == 2
    assert actions(account) == ["create", "activate"]
    entry = CreditLedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.delta, entry.balance_after) == ("activation", -1, 2)


def test_short_of_credits_waits_pending_and_the_queue_drains_oldest_first(reseller, plan):
    yearly = PlanFactory.create(reseller=reseller, name="Yearly", duration_months=12)
    big, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                            plan=yearly, now=NOW)
    small, _ = account_create(actor=SYSTEM,
                              subscriber=SubscriberFactory.create(reseller=reseller),
                              plan=plan, now=NOW + DAY)
    for account in (big, small):
        account.refresh_from_db()
        assert (account.status, account.pending_reason) == ("pending", "insufficient_credits")
    assert not CreditLedgerEntry.objects.filter(reseller=reseller).exclude(kind="purchase")
    # Enough for the small one only: the older, bigger one is not overtaken.
    grant(reseller, 5, now=NOW + 2 * DAY)
    assert ServiceAccount.objects.get(pk=small.pk).status == "pending"
    grant(reseller, 8, now=NOW + 3 * DAY)
    big.refresh_from_db()
    small.refresh_from_db()
    assert (big.status, small.status) == ("active", "active")
    assert big.expires_at == add_months(NOW + 3 * DAY, 12)
    reseller.refresh_from_db()
    assert reseller.credit_balance == 13 - 12 - 1
    assert set(PendingOperation.objects.filter(reseller=reseller)
               .values_list("status", flat=True)) == {"completed"}


def test_a_pending_account_activates_by_hand_once_credits_are_there(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    with pytest.raises(InsufficientCredits):
        account_activate(actor=SYSTEM, account=account, now=NOW)
    # Credits granted in the test mode do not pay for a live account.
    grant(reseller, 5, livemode=False, now=NOW)
    assert ServiceAccount.objects.get(pk=account.pk).status == "pending"
    grant(reseller, 1, now=NOW)  # the queue activates it
    assert ServiceAccount.objects.get(pk=account.pk).status == "active"
    with pytest.raises(StateConflict):
        account_activate(actor=SYSTEM, account=account, now=NOW)


def test_renew_extends_the_same_account_and_a_short_renewal_waits(active_account, reseller):
    old_expiry = active_account.expires_at
    password = crypto.decrypt(active_account.password_encrypted)
    result = account_renew(actor=SYSTEM, account=active_account, months=2,
                           idempotency_key="inv-1", now=NOW + DAY)
    assert not result.queued and result.credits == 2
    again = account_renew(actor=SYSTEM, account=active_account, months=2,
                          idempotency_key="inv-1", now=NOW + DAY)
    assert not again.queued
    account = ServiceAccount.objects.get(pk=active_account.pk)
    assert account.expires_at == add_months(old_expiry, 2)
    assert crypto.decrypt(account.password_encrypted) == password
    reseller.refresh_from_db()
    assert reseller.credit_balance == 10 - 1 - 2

    queued = account_renew(actor=SYSTEM, account=account, months=12, now=NOW + DAY)
    assert queued.queued and queued.credits == 12
    with pytest.raises(StateConflict):
        account_renew(actor=SYSTEM, account=account, now=NOW + DAY)
    grant(reseller, 5, now=NOW + 2 * DAY)
    account.refresh_from_db()
    assert account.expires_at == add_months(add_months(old_expiry, 2), 12)
    assert actions(account).count("renew") == 2


def test_suspend_unsuspend_terminate_and_refusals(active_account):
    account = account_suspend(actor=SYSTEM, account=active_account, reason="abuse", now=NOW)
    assert account.status == "suspended"
    with pytest.raises(StateConflict):
        account_suspend(actor=SYSTEM, account=account, now=NOW)
    account = account_unsuspend(actor=SYSTEM, account=account, now=NOW + DAY)
    assert account.status == "active"
    account_suspend(actor=SYSTEM, account=account, now=NOW + DAY)
    assert account.expires_at is not None
    # Past its period, unsuspending is a renewal.
    with pytest.raises(StateConflict) as late:
        account_unsuspend(actor=SYSTEM, account=account, now=account.expires_at + DAY)
    assert late.value.code == "renewal_required"
    account = account_terminate(actor=SYSTEM, account=account, now=NOW + 2 * DAY)
    assert account.status == "terminated"
    for service in (account_suspend, account_unsuspend, account_terminate):
        with pytest.raises(StateConflict):
            service(actor=SYSTEM, account=account, now=NOW + 3 * DAY)
    with pytest.raises(StateConflict):
        account_renew(actor=SYSTEM, account=account, now=NOW + 3 * DAY)
    assert actions(account) == ["create", "activate", "suspend", "unsuspend", "suspend",
                                "terminate"]


def test_terminating_cancels_what_waits_for_credits(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_terminate(actor=SYSTEM, account=account, now=NOW)
    grant(reseller, 5, now=NOW + DAY)
    assert ServiceAccount.objects.get(pk=account.pk).status == "terminated"
    assert PendingOperation.objects.get(account=account).status == "cancelled"
    reseller.refresh_from_db()
    assert reseller.credit_balance == 5


def test_change_plan_now_charges_the_upgrade_and_a_downgrade_waits_for_the_renewal(
    active_account, reseller
):
    premium = PlanFactory.create(reseller=reseller, name="Premium", duration_months=1,
                                 credit_cost=3)
    account = account_change_plan(actor=SYSTEM, account=active_account, plan=premium,
                                  now=NOW + DAY)
    assert account.plan_id == premium.pk and account.expires_at == active_account.expires_at
    upgrade = CreditLedgerEntry.objects.get(account=account, kind="plan_change")
    assert upgrade.delta == -2  # (3 - 1) credits for the one month left

    cheap = PlanFactory.create(reseller=reseller, name="Cheap", duration_months=1,
                               credit_cost=1)
    account = account_change_plan(actor=SYSTEM, account=account, plan=cheap, when="now",
                                  now=NOW + 2 * DAY)
    assert (account.plan_id, account.next_plan_id) == (premium.pk, cheap.pk)
    account_renew(actor=SYSTEM, account=account, now=NOW + 3 * DAY)
    account.refresh_from_db()
    assert (account.plan_id, account.next_plan_id) == (cheap.pk, None)
    assert CreditLedgerEntry.objects.filter(account=account, kind="renewal").get().delta == -1
    assert actions(account)[-3:] == ["change_plan", "schedule_plan_change", "renew"]
