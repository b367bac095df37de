from __future__ import annotations

import datetime as dt

import pytest

from apps.accounts.models import ReactivationPolicy, Reseller
from apps.core.dates import add_months
from apps.core.errors import InsufficientCredits, NotFound, StateConflict, ValidationError
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import (
    AccountEvent,
    OperationStatus,
    PendingOperation,
    Plan,
    ServiceAccount,
    Subscriber,
)
from apps.subscriptions.services import (
    account_activate,
    account_change_plan,
    account_create,
    account_renew,
    account_suspend,
    account_terminate,
    account_unsuspend,
    plan_archive,
    plan_create,
    plan_delete,
)

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory


def balance(reseller: Reseller) -> int:
    reseller.refresh_from_db()
    return reseller.credit_balance


def test_create_deducts_the_plan_cost_and_activates(reseller, subscriber) -> None:
    yearly = plan_create(actor=SYSTEM, reseller=reseller, name="Yearly", duration_months=12)
    assert yearly.credit_cost == 12  # one credit per month by default
    grant(reseller, 20)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=yearly, now=NOW)
    assert account.status == "active"
    assert account.starts_at == NOW
    assert account.expires_at == dt.datetime(2027, 3, 10, 12, 0, tzinfo=dt.UTC)
    assert balance(reseller) == 8
    event = account.events.get(action="activate")
    assert (event.from_status, event.to_status, event.credits_moved) == ("pending", "active", -12)
    assert password and len(password) >= 16


def test_create_with_credits_short_is_pending_and_deducts_nothing(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert (account.status, account.pending_reason) == ("pending", "insufficient_credits")
    assert account.expires_at is None
    assert not CreditLedgerEntry.objects.filter(reseller=reseller).exists()
    assert PendingOperation.objects.get(account=account).status == "waiting"


def test_pending_queue_drains_oldest_first_and_partly_when_short(reseller, plan):
    subscribers = SubscriberFactory.create_batch(4, reseller=reseller)
    accounts = []
    for i, subscriber in enumerate(subscribers):
        account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                    now=NOW + dt.timedelta(minutes=i))
        accounts.append(account)
    assert {a.status for a in accounts} == {"pending"}

    grant(reseller, 2, now=NOW + dt.timedelta(hours=1))
    statuses = [ServiceAccount.objects.get(pk=a.pk).status for a in accounts]
    assert statuses == ["active", "active", "pending", "pending"]
    assert balance(reseller) == 0

    grant(reseller, 5, now=NOW + dt.timedelta(hours=2))
    assert {ServiceAccount.objects.get(pk=a.pk).status for a in accounts} == {"active"}
    assert balance(reseller) == 3
    activated_at = [ServiceAccount.objects.get(pk=a.pk).starts_at for a in accounts]
    assert activated_at == [NOW + dt.timedelta(hours=h) for h in (1, 1, 2, 2)]


def test_queue_does_not_let_a_later_small_request_overtake_a_large_old_one(reseller, plan):
    yearly = PlanFactory.create(reseller=reseller, duration_months=12)
    big, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                            plan=yearly, now=NOW)
    small, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                              plan=plan, now=NOW + dt.timedelta(seconds=1))
    grant(reseller, 5)
    assert ServiceAccount.objects.get(pk=big.pk).status == "pending"
    assert ServiceAccount.objects.get(pk=small.pk).status == "pending"
    grant(reseller, 8)
    assert ServiceAccount.objects.get(pk=big.pk).status == "active"
    assert ServiceAccount.objects.get(pk=small.pk).status == "active"
    assert balance(reseller) == 0


def test_activate_now_lets_the_reseller_pick_one_account_past_a_blocked_queue(reseller, plan):
    yearly = PlanFactory.create(reseller=reseller, duration_months=12)
    big, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                            plan=yearly, now=NOW)
    small, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    grant(reseller, 5)
    assert ServiceAccount.objects.get(pk=small.pk).status == "pending"
    account = account_activate(actor=SYSTEM, account=small, now=NOW)
    assert account.status == "active"
    assert balance(reseller) == 4
    assert PendingOperation.objects.get(account=small).status == "completed"
    with pytest.raises(InsufficientCredits):
        account_activate(actor=SYSTEM, account=big, now=NOW)
    assert ServiceAccount.objects.get(pk=big.pk).status == "pending"


def test_renew_before_expiry_extends_from_the_current_expiry(active_account, reseller):
    before = balance(reseller)
    result = account_renew(actor=SYSTEM, account=active_account, months=3,
                           now=NOW + dt.timedelta(days=20))
    assert not result.queued
    assert result.account.expires_at == dt.datetime(2026, 7, 10, 12, 0, tzinfo=dt.UTC)
    assert balance(reseller) == before - 3


@pytest.mark.parametrize(
    ("policy", "expected_expiry"),
    [
        (ReactivationPolicy.FROM_EXPIRY, dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)),
        (ReactivationPolicy.FROM_RENEWAL, dt.datetime(2026, 5, 15, 12, 0, tzinfo=dt.UTC)),
    ],
)
def test_renew_after_expiry_follows_the_reactivation_policy(
    active_account, reseller, policy, expected_expiry
):
    Reseller.objects.filter(pk=reseller.pk).update(reactivation_policy=policy)
    later = dt.datetime(2026, 4, 15, 12, 0, tzinfo=dt.UTC)  # five days after expiry
    account_suspend(actor=SYSTEM, account=active_account, now=later)
    result = account_renew(actor=SYSTEM, account=active_account, months=1, now=later)
    assert result.account.status == "active"
    assert result.account.expires_at == expected_expiry


def test_from_expiry_never_sells_a_period_already_over(active_account, reseller):
    much_later = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    result = account_renew(actor=SYSTEM, account=active_account, months=1, now=much_later)
    assert result.account.expires_at == dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def test_renewal_with_credits_short_waits_and_completes_when_credits_arrive(
    active_account, reseller
):
    remaining = balance(reseller)
    account_renew(actor=SYSTEM, account=active_account, months=remaining, now=NOW)
    result = account_renew(actor=SYSTEM, account=active_account, months=2, now=NOW)
    assert result.queued
    account = ServiceAccount.objects.get(pk=active_account.pk)
    assert account.status == "active"  # the account keeps running while it waits
    old_expiry = account.expires_at
    assert old_expiry is not None
    with pytest.raises(StateConflict) as raised:
        account_renew(actor=SYSTEM, account=account, months=1, now=NOW)
    assert raised.value.code == "renewal_already_pending"
    grant(reseller, 2, now=NOW)
    account.refresh_from_db()
    assert account.expires_at == add_months(old_expiry, 2)
    assert PendingOperation.objects.get(account=account).status == OperationStatus.COMPLETED


def test_renewal_with_an_idempotency_key_deducts_once(active_account, reseller):
    before = balance(reseller)
    first = account_renew(actor=SYSTEM, account=active_account, months=1,
                          idempotency_key="order-77", now=NOW)
    again = account_renew(actor=SYSTEM, account=active_account, months=1,
                          idempotency_key="order-77", now=NOW)
    assert balance(reseller) == before - 1
    assert again.account.expires_at == first.account.expires_at


def test_renewal_months_must_fit_the_plan_period(reseller, subscriber):
    quarterly = PlanFactory.create(reseller=reseller, duration_months=3)
    grant(reseller, 30)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=quarterly, now=NOW)
    for months in (0, -3, 2, 121, "3"):
        with pytest.raises(ValidationError) as raised:
            account_renew(actor=SYSTEM, account=account, months=months, now=NOW)  # type: ignore[arg-type]
        assert raised.value.code == "invalid_months"
    assert account_renew(actor=SYSTEM, account=account, months=6, now=NOW).credits == 6


def test_renewing_a_terminated_account_is_refused_and_changes_nothing(active_account, reseller):
    account_terminate(actor=SYSTEM, account=active_account, now=NOW)
    before = balance(reseller)
    events = AccountEvent.objects.count()
    with pytest.raises(StateConflict) as raised:
        account_renew(actor=SYSTEM, account=active_account, now=NOW)
    assert raised.value.code == "invalid_state_transition"
    assert balance(reseller) == before
    assert AccountEvent.objects.count() == events


def test_terminating_cancels_a_waiting_activation(reseller, plan, subscriber):
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    account_terminate(actor=SYSTEM, account=account, now=NOW)
    grant(reseller, 5)
    assert ServiceAccount.objects.get(pk=account.pk).status == "terminated"
    assert balance(reseller) == 5
    assert PendingOperation.objects.get(account=account).status == "cancelled"


def test_unsuspend_after_the_period_ended_needs_a_renewal(active_account):
    account_suspend(actor=SYSTEM, account=active_account, now=NOW)
    with pytest.raises(StateConflict) as raised:
        account_unsuspend(actor=SYSTEM, account=active_account, now=NOW + dt.timedelta(days=40))
    assert raised.value.code == "renewal_required"
    account = account_unsuspend(actor=SYSTEM, account=active_account, now=NOW)
    assert account.status == "active"


def test_immediate_upgrade_deducts_the_difference_for_the_whole_months_left(reseller, subscriber):
    basic = PlanFactory.create(reseller=reseller, name="Basic", duration_months=3, credit_cost=3)
    premium = PlanFactory.create(reseller=reseller, name="Premium", duration_months=1, credit_cost=2)
    grant(reseller, 10)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=basic, now=NOW)
    assert balance(reseller) == 7
    # 2 months and 10 days left: three months count, at one extra credit a month.
    later = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)
    account = account_change_plan(actor=SYSTEM, account=account, plan=premium, when="now",
                                  now=later)
    assert account.plan_id == premium.pk
    assert account.expires_at == dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
    assert balance(reseller) == 4
    assert account.events.get(action="change_plan").credits_moved == -3


def test_downgrade_waits_for_the_renewal(reseller, subscriber):
    premium = PlanFactory.create(reseller=reseller, name="Premium", duration_months=1, credit_cost=2)
    basic = PlanFactory.create(reseller=reseller, name="Basic", duration_months=1, credit_cost=1)
    grant(reseller, 10)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=premium, now=NOW)
    account = account_change_plan(actor=SYSTEM, account=account, plan=basic, when="now", now=NOW)
    assert (account.plan_id, account.next_plan_id) == (premium.pk, basic.pk)
    assert balance(reseller) == 8
    result = account_renew(actor=SYSTEM, account=account, now=NOW)
    assert (result.account.plan_id, result.account.next_plan_id) == (basic.pk, None)
    assert balance(reseller) == 7  # the renewal is charged at the new plan's cost


def test_upgrade_with_credits_short_is_refused_and_changes_nothing(reseller, subscriber):
    basic = PlanFactory.create(reseller=reseller, name="Basic", duration_months=12)
    premium = PlanFactory.create(reseller=reseller, name="Premium", duration_months=1, credit_cost=3)
    grant(reseller, 12)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=basic, now=NOW)
    with pytest.raises(InsufficientCredits):
        account_change_plan(actor=SYSTEM, account=account, plan=premium, now=NOW)
    account.refresh_from_db()
    assert account.plan_id == basic.pk
    assert not account.events.filter(action="change_plan").exists()


def test_unknown_or_archived_plan_is_refused(reseller, plan, subscriber):
    other_plan = PlanFactory.create()  # another reseller's
    with pytest.raises(NotFound) as raised:
        account_create(actor=SYSTEM, subscriber=subscriber, plan=other_plan, now=NOW)
    assert raised.value.code == "plan_not_found"
    plan_archive(actor=SYSTEM, plan=plan)
    with pytest.raises(ValidationError) as raised_archived:
        account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert raised_archived.value.code == "plan_archived"
    assert not ServiceAccount.objects.exists()


def test_a_plan_in_use_can_be_archived_but_not_deleted(active_account, plan):
    with pytest.raises(StateConflict) as raised:
        plan_delete(actor=SYSTEM, plan=plan)
    assert raised.value.code == "plan_in_use"
    assert plan_archive(actor=SYSTEM, plan=plan).status == "archived"
    assert Plan.objects.filter(pk=plan.pk).exists()
    unused = PlanFactory.create(reseller=plan.reseller)
    plan_delete(actor=SYSTEM, plan=unused)
    assert not Plan.objects.filter(pk=unused.pk).exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"duration_months": 0}, "invalid_amount"),
        ({"credit_cost": 0}, "invalid_amount"),
        ({"credit_cost": -2}, "invalid_amount"),
        ({"prices": {"EURO": 100}}, "invalid_currency"),
        ({"prices": {"EUR": -1}}, "invalid_amount"),
        ({"prices": {"EUR": 9.99}}, "invalid_amount"),
        ({"name": ""}, "required"),
    ],
)
def test_bad_plan_is_refused(reseller, kwargs, code):
    with pytest.raises(ValidationError) as raised:
        plan_create(actor=SYSTEM, reseller=reseller, **{"name": "P", **kwargs})
    assert raised.value.code == code
    assert not Plan.objects.filter(reseller=reseller).exists()


def test_plan_prices_are_kept_per_currency_in_minor_units(reseller):
    plan = plan_create(actor=SYSTEM, reseller=reseller, name="Monthly",
                       prices={"EUR": 999, "USD": 1099, "JPY": 1500})
    assert dict(plan.prices.values_list("currency", "amount")) == {
        "EUR": 999, "USD": 1099, "JPY": 1500,
    }


def test_test_mode_accounts_draw_on_test_credits(reseller, plan):
    test_subscriber: Subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    grant(reseller, 3, livemode=False)
    account, _ = account_create(actor=SYSTEM, subscriber=test_subscriber, plan=plan, now=NOW)
    reseller.refresh_from_db()
    assert account.livemode is False and account.status == "active"
    assert (reseller.credit_balance, reseller.test_credit_balance) == (0, 2)
