from __future__ import annotations

from django.db.models import QuerySet

from apps.core.actors import Actor

from .models import Reseller, StaffMembership, User
from .permissions import Perm, authorize


def resellers_for_user(user: User) -> QuerySet[Reseller]:
    """The resellers a user works for (for the reseller switcher)."""
    if user.is_staff:
        return Reseller.objects.all()
    return Reseller.objects.filter(memberships__user=user).distinct()


def staff_of(reseller: Reseller, *, actor: Actor) -> QuerySet[StaffMembership]:
    authorize(actor, reseller, Perm.VIEW)
    return StaffMembership.objects.filter(reseller=reseller).select_related("user")
