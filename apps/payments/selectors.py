"""Every read of payments the dashboard and the API share: the reseller first, the actor
checked."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor

from .models import ExternalPayment


def external_payments(reseller: Reseller, *, actor: Actor, livemode: bool = True,
                      account_ids: Iterable[int] | None = None) -> QuerySet[ExternalPayment]:
    """The reseller's payments recorded from outside, newest payment first (one mode)."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    rows = ExternalPayment.objects.filter(reseller=reseller, livemode=livemode)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    return rows.select_related("account").order_by("-paid_at", "-id")
