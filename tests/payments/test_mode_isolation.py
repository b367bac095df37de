"""A test key never touches a live wallet, card or payment, and a live one never a test one:
each account is charged with its own mode's keys, or not at all."""

from __future__ import annotations

import datetime as dt

from apps.payments.charges import wallet_top_up
from apps.payments.models import Payment, PaymentMethod, StripeCustomer, StripeKeys, Wallet
from apps.subscriptions.models import DunningCase
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..stripe_server import StripeServer
from .cards import (
    OK_CARD,
    PRICE,
    priced_plan,
    renewing_account,
    save_card,
    secret_for,
    seller,
    set_keys,
)

CHARGE = r"/v1/payment_intents"


def test_a_test_account_with_only_live_keys_is_never_charged(db: None,
                                                             stripe_base: StripeServer) -> None:
    reseller = seller(livemode=True)
    grant(reseller, 10, livemode=False, now=NOW)
    account = renewing_account(reseller, priced_plan(reseller), source="card", now=NOW,
                               livemode=False)
    live_keys = StripeKeys.objects.get(reseller=reseller, livemode=True)
    # A card saved with the live keys, wrongly on a test-mode subscriber.
    card = save_card(stripe_base, account.subscriber, OK_CARD, keys=live_keys, now=NOW)
    assert (card.livemode, StripeCustomer.objects.get(subscriber=account.subscriber).livemode) \
        == (False, False)
    assert account.expires_at is not None
    at = account.expires_at - dt.timedelta(days=3)
    before = len(stripe_base.requests)

    report = sweep(now=at, reseller_slug=reseller.slug)

    assert (report.renewed, report.payment_failed) == (0, 1)
    assert stripe_base.requests[before:] == []  # not one request to Stripe
    assert not Payment.objects.filter(account=account).exists()
    case = DunningCase.objects.get(account=account)
    assert "card payments are off" in case.last_error
    assert PaymentMethod.objects.get(pk=card.pk).status == "enabled"


def test_each_mode_is_charged_with_its_own_keys_only(db: None,
                                                     stripe_base: StripeServer) -> None:
    reseller = seller(livemode=True)
    set_keys(reseller, livemode=False)
    grant(reseller, 10, livemode=False, now=NOW)
    plan = priced_plan(reseller)
    live = renewing_account(reseller, plan, source="card", now=NOW, livemode=True)
    test = renewing_account(reseller, plan, source="card", now=NOW, livemode=False)
    test_wallet = renewing_account(reseller, plan, source="wallet", now=NOW, livemode=False)
    save_card(stripe_base, live.subscriber, OK_CARD, now=NOW)
    save_card(stripe_base, test.subscriber, OK_CARD, now=NOW)
    wallet_top_up(actor=SYSTEM, subscriber=test_wallet.subscriber, amount=PRICE,
                  currency="EUR", source="cash", reference="R-1", idempotency_key="t1",
                  now=NOW)
    assert live.expires_at is not None
    at = live.expires_at - dt.timedelta(days=3)

    report = sweep(now=at, reseller_slug=reseller.slug)

    assert (report.renewed, report.payment_failed, report.errors) == (3, 0, 0)
    charges = stripe_base.calls("POST", CHARGE)
    by_key = sorted(r.api_key for r in charges)
    assert by_key == sorted([secret_for(reseller, livemode=True),
                             secret_for(reseller, livemode=False)])
    for account in (live, test, test_wallet):
        payment = Payment.objects.get(account=account)
        assert payment.livemode == account.livemode == account.subscriber.livemode
    intents = {pi["id"]: pi for pi in stripe_base.objects("payment_intent")}
    assert {Payment.objects.get(account=live).stripe_payment_intent,
            Payment.objects.get(account=test).stripe_payment_intent} == set(intents)
    customers = {c.subscriber_id: c.livemode for c in StripeCustomer.objects.all()}
    assert customers == {live.subscriber_id: True, test.subscriber_id: False}
    wallet = Wallet.objects.get(subscriber=test_wallet.subscriber)
    assert (wallet.livemode, wallet.balance) == (False, 0)
