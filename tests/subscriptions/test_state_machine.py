"""Every transition of the account state machine, allowed and refused, through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from apps.core.errors import StateConflict
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions import states
from apps.subscriptions.models import AccountEvent, AccountStatus, ServiceAccount
from apps.subscriptions.services import (
    account_activate,
    account_change_plan,
    account_create,
    account_expire,
    account_renew,
    account_reset_password,
    account_set_auto_renew,
    account_suspend,
    account_terminate,
    account_unsuspend,
)

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory

LATER = NOW + dt.timedelta(days=3)
AFTER_EXPIRY = NOW + dt.timedelta(days=35)


def make_account(reseller, plan, status: str) -> ServiceAccount:
    """An account in `status`, reached through the services."""
    subscriber = SubscriberFactory.create(reseller=reseller)
    if status == AccountStatus.PENDING:
        account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
        return account
    grant(reseller, 20)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    if status == AccountStatus.GRACE:
        account = account_expire(actor=SYSTEM, account=account, now=AFTER_EXPIRY)
    elif status == AccountStatus.SUSPENDED:
        account = account_suspend(actor=SYSTEM, account=account, now=NOW)
    elif status == AccountStatus.TERMINATED:
        account = account_terminate(actor=SYSTEM, account=account, now=NOW)
    assert account.status == status
    return account


def _activate(account: ServiceAccount, at: dt.datetime) -> None:
    if account.status == AccountStatus.PENDING:
        grant(account.reseller, 5, now=at)  # credits arrive: the queue activates it
    else:
        account_activate(actor=SYSTEM, account=account, now=at)


def _expire(account: ServiceAccount, at: dt.datetime) -> None:
    account_expire(actor=SYSTEM, account=account, now=max(at, AFTER_EXPIRY))


ACTIONS: dict[str, Callable[[ServiceAccount, dt.datetime], object]] = {
    "activate": _activate,
    "renew": lambda a, at: account_renew(actor=SYSTEM, account=a, now=at),
    "expire": _expire,
    "suspend": lambda a, at: account_suspend(actor=SYSTEM, account=a, now=at),
    "unsuspend": lambda a, at: account_unsuspend(actor=SYSTEM, account=a, now=at),
    "terminate": lambda a, at: account_terminate(actor=SYSTEM, account=a, now=at),
    "change_plan_now": lambda a, at: account_change_plan(
        actor=SYSTEM, account=a, when="now", now=at,
        plan=PlanFactory.create(reseller=a.reseller, credit_cost=2),
    ),
    "change_plan_at_renewal": lambda a, at: account_change_plan(
        actor=SYSTEM, account=a, when="renewal", now=at,
        plan=PlanFactory.create(reseller=a.reseller, credit_cost=2),
    ),
    "set_auto_renew": lambda a, at: account_set_auto_renew(actor=SYSTEM, account=a,
                                                           auto_renew=False, now=at),
    "reset_password": lambda a, at: account_reset_password(actor=SYSTEM, account=a, now=at),
}

CASES = [
    (action, status, status in sources)
    for action, (sources, _) in states.TRANSITIONS.items()
    for status in AccountStatus.values
]


def test_every_action_has_a_driver() -> None:
    assert set(ACTIONS) == set(states.TRANSITIONS)


@pytest.mark.parametrize(("action", "status", "allowed"), CASES,
                         ids=[f"{a}-from-{s}" for a, s, _ in CASES])
def test_transition(reseller, plan, action: str, status: str, allowed: bool) -> None:
    account = make_account(reseller, plan, status)
    # Time moves forward: after the grace began for an account in grace.
    at = AFTER_EXPIRY + dt.timedelta(hours=1) if status == AccountStatus.GRACE else LATER
    events_before = AccountEvent.objects.filter(account=account).count()
    ledger_before = CreditLedgerEntry.objects.filter(reseller=reseller).count()
    if allowed:
        ACTIONS[action](account, at)
        account.refresh_from_db()
        _, target = states.TRANSITIONS[action]
        assert account.status == (target or status)
        assert AccountEvent.objects.filter(account=account).count() > events_before
        event = AccountEvent.objects.filter(account=account).order_by("id").last()
        assert event is not None and event.from_status == status
    else:
        with pytest.raises(StateConflict) as raised:
            ACTIONS[action](account, at)
        assert raised.value.code == "invalid_state_transition"
        account.refresh_from_db()
        assert account.status == status
        assert AccountEvent.objects.filter(account=account).count() == events_before
        assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == ledger_before


def test_expire_refuses_an_account_still_in_its_period(reseller, plan) -> None:
    account = make_account(reseller, plan, AccountStatus.ACTIVE)
    with pytest.raises(StateConflict) as raised:
        account_expire(actor=SYSTEM, account=account, now=LATER)
    assert raised.value.code == "not_expired"
