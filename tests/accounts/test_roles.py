"""The role matrix: each role can do exactly what it says, and no more, at every service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apps.accounts.models import Reseller, Role
from apps.accounts.permissions import MATRIX, Perm, role_allows
from apps.accounts.selectors import audit_entries
from apps.accounts.services import reseller_update, staff_set_role
from apps.core.actors import Actor
from apps.core.errors import PermissionDenied
from apps.credits.selectors import credits_balance, credits_ledger
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import account_list
from apps.subscriptions.services import (
    account_change_plan,
    account_create,
    account_credentials_reveal,
    account_renew,
    account_reset_password,
    account_set_auto_renew,
    account_suspend,
    account_terminate,
    plan_create,
    subscriber_create,
)

from ..conftest import NOW, grant, staff
from ..factories import PlanFactory, SubscriberFactory, UserFactory

# The product's promise, written out: what each role may do.
EXPECTED: dict[str, set[Perm]] = {
    Role.OWNER: set(Perm),
    Role.ADMIN: set(Perm) - {Perm.SECURITY_MANAGE},
    Role.BILLING: {
        Perm.VIEW, Perm.SUBSCRIBER_MANAGE, Perm.ACCOUNT_CREATE, Perm.ACCOUNT_RENEW,
        Perm.ACCOUNT_CHANGE_PLAN, Perm.ACCOUNT_SUSPEND, Perm.ACCOUNT_TERMINATE,
        Perm.ACCOUNT_AUTO_RENEW, Perm.CREDITS_VIEW, Perm.PAYMENTS_VIEW, Perm.PAYMENT_RECORD,
        Perm.PAYMENT_REFUND,
    },
    Role.SUPPORT: {
        Perm.VIEW, Perm.CREDENTIALS_REVEAL, Perm.SUBSCRIBER_MANAGE, Perm.ACCOUNT_RESET_PASSWORD,
        Perm.CRM_MANAGE, Perm.PAYMENTS_VIEW,
    },
    Role.VIEWER: {Perm.VIEW, Perm.CREDITS_VIEW, Perm.PAYMENTS_VIEW},
}


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("perm", list(Perm))
def test_matrix_says_exactly_what_each_role_may_do(role: str, perm: Perm) -> None:
    assert role_allows(role, perm) == (perm in EXPECTED[role])


def test_every_role_is_in_the_matrix() -> None:
    assert set(MATRIX) == set(Role)


def _account(reseller: Reseller) -> ServiceAccount:
    account, _ = account_create(actor=Actor.system(), subscriber=SubscriberFactory.create(
        reseller=reseller), plan=PlanFactory.create(reseller=reseller), now=NOW)
    return account


# One service (or selector) per permission, run as the actor.
DOORS: dict[Perm, Callable[[Actor, Reseller], Any]] = {
    Perm.VIEW: lambda actor, r: list(account_list(r, actor=actor)),
    Perm.CREDENTIALS_REVEAL: lambda actor, r: account_credentials_reveal(
        actor=actor, reseller=r, account_id=_account(r).pk),
    Perm.SUBSCRIBER_MANAGE: lambda actor, r: subscriber_create(actor=actor, reseller=r, name="N"),
    Perm.ACCOUNT_CREATE: lambda actor, r: account_create(
        actor=actor, subscriber=SubscriberFactory.create(reseller=r),
        plan=PlanFactory.create(reseller=r), now=NOW),
    Perm.ACCOUNT_RENEW: lambda actor, r: account_renew(actor=actor, account=_account(r), now=NOW),
    Perm.ACCOUNT_CHANGE_PLAN: lambda actor, r: account_change_plan(
        actor=actor, account=_account(r), plan=PlanFactory.create(reseller=r), when="renewal",
        now=NOW),
    Perm.ACCOUNT_SUSPEND: lambda actor, r: account_suspend(actor=actor, account=_account(r),
                                                           now=NOW),
    Perm.ACCOUNT_TERMINATE: lambda actor, r: account_terminate(actor=actor, account=_account(r),
                                                               now=NOW),
    Perm.ACCOUNT_AUTO_RENEW: lambda actor, r: account_set_auto_renew(
        actor=actor, account=_account(r), auto_renew=False, now=NOW),
    Perm.ACCOUNT_RESET_PASSWORD: lambda actor, r: account_reset_password(
        actor=actor, account=_account(r), now=NOW),
    Perm.CREDITS_VIEW: lambda actor, r: (credits_balance(r, actor=actor),
                                         credits_ledger(r, actor=actor)),
    Perm.PLAN_MANAGE: lambda actor, r: plan_create(actor=actor, reseller=r, name="New plan"),
    Perm.SETTINGS_MANAGE: lambda actor, r: reseller_update(actor=actor, reseller=r,
                                                           name="Renamed"),
    Perm.STAFF_MANAGE: lambda actor, r: staff_set_role(actor=actor, reseller=r,
                                                       user=UserFactory.create(), role="viewer"),
    Perm.AUDIT_VIEW: lambda actor, r: list(audit_entries(r, actor=actor)),
}


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("perm", sorted(DOORS, key=str))
def test_each_service_asks_the_matrix(reseller, role: str, perm: Perm) -> None:
    grant(reseller, 100)
    actor = staff(reseller, role)
    door = DOORS[perm]
    if perm in EXPECTED[role]:
        door(actor, reseller)
    else:
        with pytest.raises(PermissionDenied) as raised:
            door(actor, reseller)
        assert raised.value.code == "permission_denied"


def test_only_an_owner_grants_the_owner_role(reseller) -> None:
    admin = staff(reseller, "admin")
    with pytest.raises(PermissionDenied) as raised:
        staff_set_role(actor=admin, reseller=reseller, user=UserFactory.create(), role="owner")
    assert raised.value.code == "owner_only"
    owner = staff(reseller, "owner")
    membership = staff_set_role(actor=owner, reseller=reseller, user=UserFactory.create(),
                                role="owner")
    assert membership.role == "owner"


def test_a_user_may_belong_to_several_resellers_with_different_roles(reseller) -> None:
    from apps.accounts.selectors import resellers_for_user

    from ..factories import MembershipFactory, ResellerFactory

    other = ResellerFactory.create()
    user = UserFactory.create()
    MembershipFactory.create(user=user, reseller=reseller, role="owner")
    MembershipFactory.create(user=user, reseller=other, role="viewer")
    actor = Actor.for_user(user)
    assert set(resellers_for_user(user)) == {reseller, other}
    plan_create(actor=actor, reseller=reseller, name="Mine")
    with pytest.raises(PermissionDenied):
        plan_create(actor=actor, reseller=other, name="Not mine")
