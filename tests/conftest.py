from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apps.accounts.models import Reseller, Role, StaffMembership, User
from apps.core.actors import Actor
from apps.credits.services import credits_grant
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create

from .factories import MembershipFactory, PlanFactory, ResellerFactory, SubscriberFactory
from .stripe_server import StripeServer, running_stripe_server

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SYSTEM = Actor.system("tests")
_keys = itertools.count()


@pytest.fixture
def now() -> dt.datetime:
    return NOW


@pytest.fixture
def system() -> Actor:
    return SYSTEM


@pytest.fixture
def reseller(db: None) -> Reseller:
    return ResellerFactory.create()


@pytest.fixture
def plan(reseller: Reseller) -> Plan:
    return PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)


@pytest.fixture
def subscriber(reseller: Reseller) -> Subscriber:
    return SubscriberFactory.create(reseller=reseller, name="Ana García")


def grant(reseller: Reseller, amount: int, *, livemode: bool = True,
          now: dt.datetime | None = None) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=amount,
                  reference=f"INV-{next(_keys)}", idempotency_key=f"grant-{next(_keys)}",
                  livemode=livemode, now=now)


@pytest.fixture
def grant_credits() -> Callable[..., None]:
    return grant


@pytest.fixture
def active_account(reseller: Reseller, plan: Plan, subscriber: Subscriber) -> ServiceAccount:
    grant(reseller, 10, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.status == "active"
    return account


def staff(reseller: Reseller, role: str) -> Actor:
    membership: StaffMembership = MembershipFactory.create(reseller=reseller, role=role)
    user: User = membership.user
    return Actor.for_user(user)


@pytest.fixture
def staff_actor() -> Callable[[Reseller, str], Actor]:
    return staff


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[StripeServer]:
    """localstripe for the whole session (tests/stripe_server.py); its URL is .url."""
    with running_stripe_server() as server:
        yield server


@pytest.fixture
def stripe_base(stripe_server: StripeServer, settings: Any) -> StripeServer:
    """Stripe for one test: an empty store, and every call of apps.payments.stripe_api
    going to it."""
    stripe_server.reset()
    settings.STRIPE_API_BASE = stripe_server.url
    return stripe_server


__all__ = ["NOW", "SYSTEM", "Role", "grant", "staff"]
