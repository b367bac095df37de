from __future__ import annotations

from django.db.models import QuerySet

from .models import Reseller, StaffMembership, User


def resellers_for_user(user: User) -> QuerySet[Reseller]:
    """The resellers a user works for (for the reseller switcher)."""
    if user.is_staff:
        return Reseller.objects.all()
    return Reseller.objects.filter(memberships__user=user).distinct()


def staff_of(reseller: Reseller) -> QuerySet[StaffMembership]:
    return StaffMembership.objects.filter(reseller=reseller).select_related("user")
