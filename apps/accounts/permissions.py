"""The role matrix: one table in code that every door asks.

Services call `authorize`; views, the API and the admin ask `can` to decide
what to show, but the service's own check is the one that counts.
"""

from __future__ import annotations

import enum

from apps.core.actors import Actor
from apps.core.errors import NotFound, PermissionDenied

from .models import Reseller, Role, StaffMembership


class Perm(enum.StrEnum):
    VIEW = "view"  # subscribers, accounts, plans, account history
    CREDENTIALS_REVEAL = "credentials.reveal"
    SUBSCRIBER_MANAGE = "subscribers.manage"
    ACCOUNT_CREATE = "accounts.create"
    ACCOUNT_RENEW = "accounts.renew"
    ACCOUNT_CHANGE_PLAN = "accounts.change_plan"
    ACCOUNT_SUSPEND = "accounts.suspend"  # suspend and unsuspend
    ACCOUNT_TERMINATE = "accounts.terminate"
    ACCOUNT_AUTO_RENEW = "accounts.auto_renew"
    ACCOUNT_RESET_PASSWORD = "accounts.reset_password"  # noqa: S105 (a permission name)
    CRM_MANAGE = "crm.manage"
    CREDITS_VIEW = "credits.view"
    PLAN_MANAGE = "plans.manage"
    SETTINGS_MANAGE = "settings.manage"
    STAFF_MANAGE = "staff.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    AUDIT_VIEW = "audit.view"
    SECURITY_MANAGE = "security.manage"  # require 2FA for all staff
    PAYMENTS_VIEW = "payments.view"  # payments, wallets, saved cards
    PAYMENT_RECORD = "payments.record"  # cash and bank transfers, wallet top-ups by hand
    PAYMENT_REFUND = "payments.refund"  # refunds and wallet adjustments
    PAYMENTS_SETTINGS = "payments.settings"  # the reseller's Stripe keys


_BILLING = {
    Perm.VIEW,
    Perm.SUBSCRIBER_MANAGE,
    Perm.ACCOUNT_CREATE,
    Perm.ACCOUNT_RENEW,
    Perm.ACCOUNT_CHANGE_PLAN,
    Perm.ACCOUNT_SUSPEND,
    Perm.ACCOUNT_TERMINATE,
    Perm.ACCOUNT_AUTO_RENEW,
    Perm.CREDITS_VIEW,
    Perm.PAYMENTS_VIEW,
    Perm.PAYMENT_RECORD,
    Perm.PAYMENT_REFUND,
}
_SUPPORT = {
    Perm.VIEW,
    Perm.CREDENTIALS_REVEAL,
    Perm.SUBSCRIBER_MANAGE,
    Perm.ACCOUNT_RESET_PASSWORD,
    Perm.CRM_MANAGE,
    Perm.PAYMENTS_VIEW,
}

MATRIX: dict[Role, frozenset[Perm]] = {
    Role.OWNER: frozenset(Perm),
    Role.ADMIN: frozenset(Perm) - {Perm.SECURITY_MANAGE},
    Role.BILLING: frozenset(_BILLING),
    Role.SUPPORT: frozenset(_SUPPORT),
    Role.VIEWER: frozenset({Perm.VIEW, Perm.CREDITS_VIEW, Perm.PAYMENTS_VIEW}),
}

# Provider-only operations: nobody at a reseller may do them, whatever the role.
PROVIDER_ONLY = frozenset({"credits.grant", "credits.adjust", "credits.refund", "resellers.manage"})


def role_allows(role: str, perm: Perm) -> bool:
    return perm in MATRIX.get(Role(role), frozenset())


def role_of(actor: Actor, reseller: Reseller | int) -> str | None:
    """The actor's role at the reseller, or None when it has no membership."""
    if actor.kind != "user" or actor.user is None:
        return None
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    return (
        StaffMembership.objects.filter(user=actor.user, reseller_id=reseller_id)
        .values_list("role", flat=True)
        .first()
    )


def is_provider_staff(actor: Actor) -> bool:
    return (
        actor.kind == "user"
        and actor.user is not None
        and actor.user.is_active
        and actor.user.is_staff
    )


def can(actor: Actor, reseller: Reseller | int, perm: Perm) -> bool:
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    if actor.kind == "system" or is_provider_staff(actor):
        return True
    if actor.kind == "api_key":
        # Scopes are the API's own check; here a key acts only for its reseller.
        return actor.api_key_reseller_id == reseller_id
    role = role_of(actor, reseller_id)
    return role is not None and role_allows(role, perm)


def authorize(actor: Actor, reseller: Reseller | int, perm: Perm) -> None:
    """Raise unless the actor may do `perm` at the reseller.

    An actor with no tie to the reseller gets NotFound, so that another
    tenant's objects are never revealed to exist.
    """
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    if actor.kind == "system" or is_provider_staff(actor):
        return
    if actor.kind == "api_key":
        if actor.api_key_reseller_id != reseller_id:
            raise NotFound("No such object.")
        return
    role = role_of(actor, reseller_id)
    if role is None:
        raise NotFound("No such object.")
    if not role_allows(role, perm):
        raise PermissionDenied(f"The {role} role may not do {perm.value}.", code="permission_denied")


def authorize_provider(actor: Actor, action: str) -> None:
    """Operations only the provider (its staff or the system) may do."""
    if actor.kind == "system" or is_provider_staff(actor):
        return
    raise PermissionDenied(f"Only the provider may do {action}.", code="provider_only")
