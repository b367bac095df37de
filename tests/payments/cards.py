"""What the card and wallet end-to-end tests share: a reseller with Stripe keys, a priced
plan, a subscriber with a card saved at localstripe, an auto-renewing account.

Cards are saved the way the client area will save them: a customer and a payment
method made at Stripe (localstripe, tests/stripe_server.py), then the panel's
StripeCustomer and PaymentMethod rows.
"""

from __future__ import annotations

import datetime as dt
import itertools

from apps.accounts.models import Reseller
from apps.core import crypto
from apps.payments import stripe_api
from apps.payments.models import (
    PaymentMethod,
    StripeCustomer,
    StripeKeys,
    Wallet,
    WalletEntry,
)
from apps.payments.stripe_keys import stripe_keys_set
from apps.subscriptions.models import Plan, PlanPrice, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create, account_set_renewal_source

from ..conftest import SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory
from ..stripe_server import StripeServer

OK_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches; every charge is declined
AUTH_CARD = "4000002760003184"  # off-session charges need the cardholder
PRICE = 999  # minor units of EUR, one month
_n = itertools.count(1)


def secret_for(reseller: Reseller, *, livemode: bool) -> str:
    return f"sk_{'live' if livemode else 'test'}_{reseller.slug.replace('-', '_')}"


def webhook_secret_for(reseller: Reseller, *, livemode: bool) -> str:
    return f"whsec_{'live' if livemode else 'test'}_{reseller.slug.replace('-', '_')}"


def set_keys(reseller: Reseller, *, livemode: bool = False) -> StripeKeys:
    mode = "live" if livemode else "test"
    return stripe_keys_set(actor=SYSTEM, reseller=reseller, livemode=livemode,
                           publishable_key=f"pk_{mode}_{reseller.slug.replace('-', '_')}",
                           secret_key=secret_for(reseller, livemode=livemode),
                           webhook_secret=webhook_secret_for(reseller, livemode=livemode))


def priced_plan(reseller: Reseller, *, amount: int = PRICE) -> Plan:
    plan = PlanFactory.create(reseller=reseller, name=f"Monthly {next(_n)}", duration_months=1)
    PlanPrice.objects.create(plan=plan, currency="EUR", amount=amount)
    return plan


def seller(*, livemode: bool = False, keys: bool = True, credits: int = 50) -> Reseller:
    reseller = ResellerFactory.create()
    if keys:
        set_keys(reseller, livemode=livemode)
    grant(reseller, credits, livemode=livemode, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return reseller


def save_card(server: StripeServer, subscriber: Subscriber, number: str, *,
              keys: StripeKeys | None = None, now: dt.datetime) -> PaymentMethod:
    """A card saved at Stripe and made the subscriber's default (the old default kept)."""
    keys = keys or StripeKeys.objects.get(reseller_id=subscriber.reseller_id,
                                          livemode=subscriber.livemode)
    customer = StripeCustomer.objects.filter(subscriber=subscriber).first()
    if customer is None:
        customer_id = stripe_api.customer_create(
            keys, email=subscriber.email, name=subscriber.name,
            metadata={"subscriber": str(subscriber.pk)},
            idempotency_key=f"customer-{subscriber.pk}")
        customer = StripeCustomer.objects.create(
            reseller_id=subscriber.reseller_id, subscriber=subscriber,
            livemode=subscriber.livemode, stripe_id=customer_id, created_at=now)
    pm = server.card(number, secret_key=crypto.decrypt(keys.secret_key_encrypted))
    stripe_api.payment_method_attach(keys, pm, customer=customer.stripe_id,
                                     idempotency_key=f"attach-{pm}")
    PaymentMethod.objects.filter(subscriber=subscriber, is_default=True).update(is_default=False)
    return PaymentMethod.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, livemode=subscriber.livemode,
        stripe_id=pm, brand="visa", last4=number[-4:], exp_month=12, exp_year=2034,
        is_default=True, created_at=now, updated_at=now)


def renewing_account(reseller: Reseller, plan: Plan, *, source: str, now: dt.datetime,
                     livemode: bool = False) -> ServiceAccount:
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=now)
    account_set_renewal_source(actor=SYSTEM, account=account, source=source, now=now)
    account.refresh_from_db()
    return account


def wallet_balance(subscriber_id: int, currency: str = "EUR") -> int:
    return (Wallet.objects.filter(subscriber_id=subscriber_id, currency=currency)
            .values_list("balance", flat=True).first()) or 0


def assert_wallet_ledger_holds(subscriber_id: int) -> None:
    """balance == sum of deltas, every balance_after chains, never below zero."""
    for wallet in Wallet.objects.filter(subscriber_id=subscriber_id):
        entries = list(WalletEntry.objects.filter(wallet=wallet).order_by("id"))
        running = 0
        for entry in entries:
            running += entry.delta
            assert entry.balance_after == running, (entry, running)
            assert running >= 0
        assert wallet.balance == running == sum(e.delta for e in entries)


def intents_at_stripe(server: StripeServer, subscriber: Subscriber) -> list[dict]:
    """The PaymentIntents localstripe holds for the subscriber's customer, oldest first."""
    customer = StripeCustomer.objects.filter(subscriber=subscriber).first()
    if customer is None:
        return []
    return sorted((pi for pi in server.objects("payment_intent")
                   if pi.get("customer") == customer.stripe_id),
                  key=lambda pi: (pi["created"], pi["id"]))


def charged_at_stripe(server: StripeServer, subscriber: Subscriber) -> list[dict]:
    """The subscriber's PaymentIntents that took money."""
    return [pi for pi in intents_at_stripe(server, subscriber) if pi["status"] == "succeeded"]
