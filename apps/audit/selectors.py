from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor

from .models import AuditEntry


def audit_entries(reseller: Reseller, *, actor: Actor) -> QuerySet[AuditEntry]:
    authorize(actor, reseller, Perm.AUDIT_VIEW)
    return AuditEntry.objects.filter(reseller=reseller).select_related("actor_user")
