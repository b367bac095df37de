"""Every read of payments the dashboard and the API share: the reseller first, the actor
checked."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor

from .models import ExternalPayment, Wallet, WalletEntry

if TYPE_CHECKING:
    from apps.subscriptions.models import Subscriber


def external_payments(reseller: Reseller, *, actor: Actor, livemode: bool = True,
                      account_ids: Iterable[int] | None = None) -> QuerySet[ExternalPayment]:
    """The reseller's payments recorded from outside, newest payment first (one mode)."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    rows = ExternalPayment.objects.filter(reseller=reseller, livemode=livemode)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    return rows.select_related("account").order_by("-paid_at", "-id")


def wallet_balances(reseller: Reseller, subscriber: Subscriber) -> list[Wallet]:
    """The subscriber's wallets, one per currency it ever held (zero balances too), by currency.

    Empty for a subscriber of another reseller.
    """
    return list(Wallet.objects.filter(reseller=reseller, subscriber=subscriber)
                .order_by("currency"))


def wallet_entries(reseller: Reseller, subscriber: Subscriber, *,
                   currency: str | None = None) -> QuerySet[WalletEntry]:
    """The subscriber's wallet movements, newest first; one currency's when given."""
    rows = WalletEntry.objects.filter(reseller=reseller, subscriber=subscriber)
    if currency is not None:
        rows = rows.filter(currency=currency)
    return rows.order_by("-created_at", "-id")
