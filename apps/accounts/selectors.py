from __future__ import annotations

from django.db.models import QuerySet

from apps.audit.models import AuditEntry
from apps.core.actors import Actor

from .models import Reseller, ResellerLogo, StaffMembership, User
from .permissions import Perm, authorize


def resellers_for_user(user: User) -> QuerySet[Reseller]:
    """The resellers a user works for (for the reseller switcher)."""
    if user.is_staff:
        return Reseller.objects.all()
    return Reseller.objects.filter(memberships__user=user).distinct()


def staff_of(reseller: Reseller, *, actor: Actor) -> QuerySet[StaffMembership]:
    authorize(actor, reseller, Perm.VIEW)
    return StaffMembership.objects.filter(reseller=reseller).select_related("user")


def audit_entries(reseller: Reseller, *, actor: Actor) -> QuerySet[AuditEntry]:
    """The reseller's audit trail, for the roles that may read it.

    Here rather than in apps.audit, so that the audit trail depends on apps.core
    alone and every app, accounts included, can write to it.
    """
    authorize(actor, reseller, Perm.AUDIT_VIEW)
    return AuditEntry.objects.filter(reseller=reseller).select_related("actor_user")


def reseller_logo(reseller: Reseller) -> ResellerLogo | None:
    """The reseller's logo, or None. Anyone who sees the reseller's header may read it."""
    if not reseller.logo_version:
        return None
    return ResellerLogo.objects.filter(reseller=reseller).first()
