from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from apps.accounts.models import Reseller, StaffMembership, User
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create
from tests.conftest import NOW, SYSTEM, grant
from tests.factories import MembershipFactory, PlanFactory, ResellerFactory, SubscriberFactory


@dataclass
class World:
    """One reseller with a plan, a subscriber and an active account, and a second reseller."""

    reseller: Reseller
    plan: Plan
    subscriber: Subscriber
    account: ServiceAccount
    other: Reseller
    other_subscriber: Subscriber
    other_account: ServiceAccount


def make_account(reseller: Reseller, plan: Plan, subscriber: Subscriber) -> ServiceAccount:
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan)
    return account


@pytest.fixture
def world(db: None) -> World:
    reseller = ResellerFactory.create(name="Alpha")
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    subscriber = SubscriberFactory.create(reseller=reseller, name="Ana García")
    grant(reseller, 50)
    other = ResellerFactory.create(name="Beta")
    other_plan = PlanFactory.create(reseller=other, name="Other monthly")
    other_subscriber = SubscriberFactory.create(reseller=other, name="Bruno")
    grant(other, 5)
    return World(
        reseller=reseller, plan=plan, subscriber=subscriber,
        account=make_account(reseller, plan, subscriber),
        other=other, other_subscriber=other_subscriber,
        other_account=make_account(other, other_plan, other_subscriber),
    )


def member(reseller: Reseller, role: str) -> User:
    membership: StaffMembership = MembershipFactory.create(reseller=reseller, role=role)
    return membership.user


@pytest.fixture
def signed_in() -> Callable[[Reseller, str], Client]:
    def make(reseller: Reseller, role: str) -> Client:
        client = Client()
        client.force_login(member(reseller, role))
        return client

    return make


__all__ = ["NOW"]
