"""account_renew_many: the dashboard's bulk renew, each account on its own."""

from __future__ import annotations

import pytest

from apps.core.errors import NotFound, PermissionDenied
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import AccountEvent, PendingOperation, ServiceAccount
from apps.subscriptions.services import account_create, account_renew_many, account_terminate

from ..conftest import NOW, SYSTEM, grant, staff
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory


def open_accounts(reseller, plan, n: int) -> list[ServiceAccount]:
    grant(reseller, n, now=NOW)
    accounts = [account_create(actor=SYSTEM, plan=plan, now=NOW,
                               subscriber=SubscriberFactory.create(reseller=reseller))[0]
                for _ in range(n)]
    assert all(a.status == "active" for a in accounts)
    return accounts


def test_renews_what_it_can_queues_what_waits_for_credits_and_refuses_the_rest(reseller, plan):
    first, second, ended = open_accounts(reseller, plan, 3)
    account_terminate(actor=SYSTEM, account=ended, now=NOW)
    grant(reseller, 1, now=NOW)  # enough for one renewal
    before = {a.pk: ServiceAccount.objects.get(pk=a.pk).expires_at for a in (first, second)}
    events = AccountEvent.objects.filter(account=ended).count()

    result = account_renew_many(actor=staff(reseller, "billing"), reseller=reseller,
                                account_ids=[ended.pk, second.pk, first.pk], now=NOW)

    assert [r.account.pk for r in result.renewed] == [first.pk]
    assert [r.account.pk for r in result.queued] == [second.pk]
    assert [(a.pk, e.code) for a, e in result.refused] == [(ended.pk, "invalid_state_transition")]
    renewed = ServiceAccount.objects.get(pk=first.pk)
    old_expiry = before[first.pk]
    assert renewed.expires_at and old_expiry and renewed.expires_at > old_expiry
    # The queued one keeps its period until credits arrive; the refused one has nothing new.
    assert ServiceAccount.objects.get(pk=second.pk).expires_at == before[second.pk]
    assert PendingOperation.objects.get(account=second).status == "waiting"
    assert AccountEvent.objects.filter(account=ended).count() == events
    assert not CreditLedgerEntry.objects.filter(account=ended, kind="renewal").exists()
    assert CreditLedgerEntry.objects.filter(kind="renewal").count() == 1
    reseller.refresh_from_db()
    assert reseller.credit_balance == 0


def test_a_renewal_already_waiting_is_refused_and_not_queued_twice(reseller, plan):
    (account,) = open_accounts(reseller, plan, 1)
    first = account_renew_many(actor=SYSTEM, reseller=reseller, account_ids=[account.pk],
                               now=NOW)
    again = account_renew_many(actor=SYSTEM, reseller=reseller, account_ids=[account.pk],
                               now=NOW)
    assert len(first.queued) == 1
    assert [e.code for _, e in again.refused] == ["renewal_already_pending"]
    assert PendingOperation.objects.filter(account=account).count() == 1


def test_another_resellers_and_the_other_modes_accounts_are_ignored(reseller, plan):
    (mine,) = open_accounts(reseller, plan, 1)
    other = ResellerFactory.create()
    (theirs,) = open_accounts(other, PlanFactory.create(reseller=other), 1)
    grant(reseller, 1, livemode=False, now=NOW)
    test_mode, _ = account_create(
        actor=SYSTEM, plan=plan, now=NOW,
        subscriber=SubscriberFactory.create(reseller=reseller, livemode=False))
    grant(reseller, 5, now=NOW)
    result = account_renew_many(actor=SYSTEM, reseller=reseller,
                                account_ids=[mine.pk, theirs.pk, test_mode.pk], now=NOW)
    assert [r.account.pk for r in result.renewed] == [mine.pk]
    assert not result.queued and not result.refused
    assert not CreditLedgerEntry.objects.filter(account__in=[theirs, test_mode],
                                                kind="renewal").exists()


def test_a_role_that_may_not_renew_is_refused_before_anything_happens(reseller, plan):
    (account,) = open_accounts(reseller, plan, 1)
    grant(reseller, 5, now=NOW)
    with pytest.raises(PermissionDenied):
        account_renew_many(actor=staff(reseller, "support"), reseller=reseller,
                           account_ids=[account.pk], now=NOW)
    with pytest.raises(NotFound):
        account_renew_many(actor=staff(ResellerFactory.create(), "owner"), reseller=reseller,
                           account_ids=[account.pk], now=NOW)
    assert not CreditLedgerEntry.objects.filter(kind="renewal").exists()
