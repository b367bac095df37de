"""Every read of payments the dashboard and the API share: the reseller first, the actor
checked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core import signing
from django.db.models import Case, QuerySet, Value, When

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.core.errors import NotFound
from apps.subscriptions.models import PlanPrice

from .models import (
    CardStatus,
    ExternalPayment,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
    StripeKeys,
    Wallet,
    WalletEntry,
)

if TYPE_CHECKING:
    from apps.subscriptions.models import Subscriber

# The salt of the subscriber's signed payment links (apps.payments.charges makes them).
PAY_LINK_SALT = "payments.pay-link"


def external_payments(reseller: Reseller, *, actor: Actor, livemode: bool = True,
                      account_ids: Iterable[int] | None = None) -> QuerySet[ExternalPayment]:
    """The reseller's payments recorded from outside, newest payment first (one mode)."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    rows = ExternalPayment.objects.filter(reseller=reseller, livemode=livemode)
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    return rows.select_related("account").order_by("-paid_at", "-id")


# ---------------------------------------------------------------- payments through the panel

# The order the billing tab lists them in: what needs a person first.
NEEDS_ATTENTION = [PaymentState.FAILED, PaymentState.UNKNOWN, PaymentState.REQUIRES_ACTION]


def payment_list(reseller: Reseller, *, actor: Actor, livemode: bool = True,
                 state: str | None = None, source: str | None = None,
                 subscriber_id: int | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None,
                 attention_first: bool = False) -> QuerySet[Payment]:
    """The reseller's payments in one mode, newest first (failed and unknown ones first when
    asked), filtered by state, source, subscriber and a time range."""
    authorize(actor, reseller, Perm.PAYMENTS_VIEW)
    rows = Payment.objects.filter(reseller=reseller, livemode=livemode)
    if state:
        rows = rows.filter(state=state)
    if source:
        rows = rows.filter(source=source)
    if subscriber_id is not None:
        rows = rows.filter(subscriber_id=subscriber_id)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    rows = rows.select_related("subscriber", "account", "payment_method")
    if attention_first:
        return rows.annotate(attention=Case(When(state__in=NEEDS_ATTENTION, then=Value(0)),
                                            default=Value(1))).order_by(
            "attention", "-created_at", "-id")
    return rows.order_by("-created_at", "-id")


def payment_get(reseller: Reseller, payment_id: int, *, actor: Actor,
                livemode: bool | None = None) -> Payment:
    authorize(actor, reseller, Perm.PAYMENTS_VIEW)
    rows = Payment.objects.filter(reseller=reseller, pk=payment_id)
    if livemode is not None:
        rows = rows.filter(livemode=livemode)
    payment = rows.select_related("subscriber", "account", "payment_method").first()
    if payment is None:
        raise NotFound("No such payment.", code="payment_not_found", param="payment")
    return payment


def payment_from_link(token: str) -> Payment | None:
    """The payment a subscriber's emailed link names (signed, valid 30 days), or None."""
    try:
        data = signing.loads(token, salt=PAY_LINK_SALT, max_age=30 * 24 * 3600)
    except signing.BadSignature:
        return None
    return (Payment.objects.filter(pk=data.get("payment"))
            .select_related("reseller", "subscriber", "account", "payment_method").first())


def saved_cards(reseller: Reseller, subscriber_id: int, *, actor: Actor,
                include_removed: bool = False) -> QuerySet[PaymentMethod]:
    """The subscriber's cards, the default first; removed ones too when asked (the
    dashboard shows them with the reason, the collectors never use them)."""
    authorize(actor, reseller, Perm.PAYMENTS_VIEW)
    rows = PaymentMethod.objects.filter(reseller=reseller, subscriber_id=subscriber_id)
    if not include_removed:
        rows = rows.exclude(status=CardStatus.DETACHED)
    return rows


def refunds_by_payment(reseller: Reseller, payment_ids: Iterable[int], *,
                       actor: Actor) -> dict[int, list[Refund]]:
    """The refunds of these payments (the reseller's only), newest first, by payment id."""
    authorize(actor, reseller, Perm.PAYMENTS_VIEW)
    found: dict[int, list[Refund]] = {}
    for refund in Refund.objects.filter(reseller=reseller, payment_id__in=list(payment_ids)
                                        ).order_by("-created_at", "-id"):
        found.setdefault(refund.payment_id, []).append(refund)
    return found


def offered_currencies(reseller: Reseller) -> list[str]:
    """The currencies the reseller takes money in: its base currency, then every currency
    one of its plans is priced in."""
    priced = set(PlanPrice.objects.filter(plan__reseller=reseller)
                 .values_list("currency", flat=True).distinct())
    return [reseller.base_currency, *sorted(priced - {reseller.base_currency})]


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


def card_payments_on(reseller: Reseller | int, livemode: bool) -> bool:
    """Card payments work in this mode only with the reseller's Stripe keys for it."""
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    return StripeKeys.objects.filter(reseller_id=reseller_id, livemode=livemode).exists()


def stripe_keys_of(reseller: Reseller, *, actor: Actor) -> dict[bool, StripeKeys | None]:
    """The reseller's Stripe keys by mode (False: test, True: live), None where absent."""
    authorize(actor, reseller, Perm.PAYMENTS_SETTINGS)
    rows = {keys.livemode: keys for keys in StripeKeys.objects.filter(reseller=reseller)}
    return {False: rows.get(False), True: rows.get(True)}
