"""Every read of payments the dashboard and the API share: the reseller first, the actor
checked."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor

from .models import ExternalPayment, StripeKeys


def external_payments(reseller: Reseller, *, actor: Actor, livemode: bool = True,
                      account_ids: Iterable[int] | None = None) -> QuerySet[ExternalPayment]:
    """The reseller's payments recorded from outside, newest payment first (one mode)."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    rows = ExternalPayment.objects.filter(reseller=reseller, livemode=livemode)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    return rows.select_related("account").order_by("-paid_at", "-id")


def card_payments_on(reseller: Reseller | int, livemode: bool) -> bool:
    """Card payments work in this mode only with the reseller's Stripe keys for it."""
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    return StripeKeys.objects.filter(reseller_id=reseller_id, livemode=livemode).exists()


def stripe_keys_of(reseller: Reseller, *, actor: Actor) -> dict[bool, StripeKeys | None]:
    """The reseller's Stripe keys by mode (False: test, True: live), None where absent."""
    authorize(actor, reseller, Perm.PAYMENTS_SETTINGS)
    rows = {keys.livemode: keys for keys in StripeKeys.objects.filter(reseller=reseller)}
    return {False: rows.get(False), True: rows.get(True)}
