"""Staff of reseller A never read or change reseller B's data, through any door."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.accounts.selectors import audit_entries
from apps.accounts.services import reseller_update, staff_remove, staff_set_role
from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.errors import NotFound
from apps.credits.models import CreditLedgerEntry
from apps.credits.selectors import credits_balance, credits_ledger
from apps.subscriptions import selectors
from apps.subscriptions.models import AccountEvent, Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import (
    account_activate,
    account_change_plan,
    account_create,
    account_credentials_reveal,
    account_open,
    account_renew,
    account_renew_many,
    account_reset_password,
    account_set_auto_renew,
    account_suspend,
    account_terminate,
    account_unsuspend,
    plan_archive,
    plan_create,
    plan_delete,
    plan_update,
    subscriber_create,
    subscriber_update,
)

from .conftest import NOW, SYSTEM, grant, staff
from .factories import MembershipFactory, PlanFactory, ResellerFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    a, b = ResellerFactory.create(), ResellerFactory.create()
    grant(b, 10)
    b_plan = PlanFactory.create(reseller=b)
    b_subscriber = SubscriberFactory.create(reseller=b)
    b_account, _ = account_create(actor=SYSTEM, subscriber=b_subscriber, plan=b_plan, now=NOW)
    return {"a": a, "a_plan": PlanFactory.create(reseller=a), "b": b,
            "actor": staff(a, "owner"), "plan": b_plan,
            "subscriber": b_subscriber, "account": b_account}


def snapshot() -> tuple[int, ...]:
    return (
        ServiceAccount.objects.filter(status="active").count(),
        AccountEvent.objects.count(),
        CreditLedgerEntry.objects.count(),
        Plan.objects.count(),
        Subscriber.objects.count(),
        AuditEntry.objects.count(),
    )


SERVICES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "account_create": lambda w: account_create(actor=w["actor"], subscriber=w["subscriber"],
                                               plan=w["plan"], now=NOW),
    "account_open": lambda w: account_open(
        actor=w["actor"], reseller=w["b"], subscriber=w["subscriber"].pk, plan_id=w["plan"].pk,
        now=NOW),
    "account_open in A with B's subscriber": lambda w: account_open(
        actor=w["actor"], reseller=w["a"], subscriber=w["subscriber"].pk,
        plan_id=w["a_plan"].pk, now=NOW),
    "account_activate": lambda w: account_activate(actor=w["actor"], account=w["account"]),
    "account_credentials_reveal": lambda w: account_credentials_reveal(
        actor=w["actor"], reseller=w["b"], account_id=w["account"].pk),
    "account_credentials_reveal in A of B's account": lambda w: account_credentials_reveal(
        actor=w["actor"], reseller=w["a"], account_id=w["account"].pk),
    "account_renew": lambda w: account_renew(actor=w["actor"], account=w["account"], now=NOW),
    "account_renew_many": lambda w: account_renew_many(
        actor=w["actor"], reseller=w["b"], account_ids=[w["account"].pk], now=NOW),
    "account_change_plan": lambda w: account_change_plan(
        actor=w["actor"], account=w["account"], plan=w["plan"], now=NOW),
    "account_suspend": lambda w: account_suspend(actor=w["actor"], account=w["account"]),
    "account_unsuspend": lambda w: account_unsuspend(actor=w["actor"], account=w["account"]),
    "account_terminate": lambda w: account_terminate(actor=w["actor"], account=w["account"]),
    "account_set_auto_renew": lambda w: account_set_auto_renew(
        actor=w["actor"], account=w["account"], auto_renew=False),
    "account_reset_password": lambda w: account_reset_password(actor=w["actor"],
                                                               account=w["account"]),
    "plan_create": lambda w: plan_create(actor=w["actor"], reseller=w["b"], name="X"),
    "plan_update": lambda w: plan_update(actor=w["actor"], plan=w["plan"], name="X"),
    "plan_archive": lambda w: plan_archive(actor=w["actor"], plan=w["plan"]),
    "plan_delete": lambda w: plan_delete(actor=w["actor"], plan=w["plan"]),
    "subscriber_create": lambda w: subscriber_create(actor=w["actor"], reseller=w["b"], name="X"),
    "subscriber_update": lambda w: subscriber_update(actor=w["actor"],
                                                     subscriber=w["subscriber"], name="X"),
    "reseller_update": lambda w: reseller_update(actor=w["actor"], reseller=w["b"], name="X"),
    "staff_set_role": lambda w: staff_set_role(actor=w["actor"], reseller=w["b"],
                                               user=w["actor"].user, role="owner"),
    "staff_remove": lambda w: staff_remove(actor=w["actor"], reseller=w["b"],
                                           user=w["actor"].user),
}

SELECTORS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "plan_list": lambda w: selectors.plan_list(w["b"], actor=w["actor"]),
    "plan_get": lambda w: selectors.plan_get(w["b"], actor=w["actor"], plan_id=w["plan"].pk),
    "subscriber_list": lambda w: selectors.subscriber_list(w["b"], actor=w["actor"]),
    "subscriber_get": lambda w: selectors.subscriber_get(
        w["b"], actor=w["actor"], subscriber_id=w["subscriber"].pk),
    "account_list": lambda w: selectors.account_list(w["b"], actor=w["actor"]),
    "account_get": lambda w: selectors.account_get(w["b"], actor=w["actor"],
                                                   account_id=w["account"].pk),
    "account_events": lambda w: selectors.account_events(w["b"], actor=w["actor"],
                                                         account_id=w["account"].pk),
    "pending_operations": lambda w: selectors.pending_operations(w["b"], actor=w["actor"]),
    "renewal_queue": lambda w: selectors.renewal_queue(w["b"], actor=w["actor"]),
    "subscriber_search": lambda w: selectors.subscriber_search(w["b"], actor=w["actor"],
                                                               query="ana"),
    "credits_balance": lambda w: credits_balance(w["b"], actor=w["actor"]),
    "credits_ledger": lambda w: credits_ledger(w["b"], actor=w["actor"]),
    "audit_entries": lambda w: audit_entries(w["b"], actor=w["actor"]),
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_services_refuse_another_resellers_objects_as_not_found(world, name: str) -> None:
    before = snapshot()
    with pytest.raises(NotFound):
        SERVICES[name](world)
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(SELECTORS))
def test_selectors_refuse_another_reseller(world, name: str) -> None:
    with pytest.raises(NotFound):
        SELECTORS[name](world)


def test_selectors_by_id_never_cross_tenants(world) -> None:
    """A's own staff asking A's selector for B's object id gets not found."""
    a: Reseller = world["a"]
    actor: Actor = world["actor"]
    with pytest.raises(NotFound):
        selectors.account_get(a, actor=actor, account_id=world["account"].pk)
    with pytest.raises(NotFound):
        selectors.subscriber_get(a, actor=actor, subscriber_id=world["subscriber"].pk)
    with pytest.raises(NotFound):
        selectors.plan_get(a, actor=actor, plan_id=world["plan"].pk)
    assert list(selectors.account_list(a, actor=actor)) == []


ADMIN_PAGES = [
    ("admin:index", None),
    ("admin:accounts_reseller_changelist", None),
    ("admin:accounts_reseller_change", "b"),
    ("admin:subscriptions_serviceaccount_changelist", None),
    ("admin:subscriptions_serviceaccount_change", "account"),
    ("admin:subscriptions_subscriber_change", "subscriber"),
    ("admin:subscriptions_plan_change", "plan"),
    ("admin:credits_creditledgerentry_changelist", None),
    ("admin:credits_grant", None),
    ("admin:audit_auditentry_changelist", None),
]


@pytest.mark.parametrize(("name", "obj"), ADMIN_PAGES)
def test_reseller_staff_cannot_open_the_providers_admin(world, name: str, obj: str | None) -> None:
    client = Client()
    client.force_login(world["actor"].user)
    url = reverse(name, args=[world[obj].pk] if obj else [])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_reseller_staff_cannot_post_a_grant_in_the_admin(world) -> None:
    client = Client()
    client.force_login(world["actor"].user)
    before = snapshot()
    response = client.post(reverse("admin:credits_grant"), {
        "reseller": world["a"].pk, "amount": 1000, "reference": "self", "idempotency_key": "x",
        "livemode": "on",
    })
    assert response.status_code == 302
    assert snapshot() == before


def test_membership_in_a_does_not_open_b(world) -> None:
    # Even a user with roles at both is checked per reseller.
    MembershipFactory.create(user=world["actor"].user, reseller=world["b"], role="viewer")
    with pytest.raises(Exception) as raised:
        account_suspend(actor=world["actor"], account=world["account"])
    assert getattr(raised.value, "code", "") == "permission_denied"
