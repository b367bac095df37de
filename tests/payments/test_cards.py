"""Saved cards (apps.payments.cards) against localstripe, and a card that needs its holder."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.core import crypto
from apps.core.errors import NotFound, ValidationError
from apps.payments.cards import card_remove, card_save
from apps.payments.charges import card_collect, payment_resolve
from apps.payments.models import (
    CardStatus,
    Payment,
    PaymentMethod,
    PaymentState,
    StripeCustomer,
    StripeKeys,
)
from apps.payments.services import collection_key

from ..conftest import SYSTEM
from ..factories import SubscriberFactory
from ..stripe_server import StripeServer
from .cards import AUTH_CARD, OK_CARD, priced_plan, renewing_account, seller

NOW = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def _pm(server: StripeServer, reseller_keys: StripeKeys, number: str = OK_CARD) -> str:
    return server.card(number, secret_key=crypto.decrypt(reseller_keys.secret_key_encrypted))


def test_a_saved_card_keeps_what_stripe_shows_of_it_and_becomes_the_default(
        stripe_base: StripeServer) -> None:
    reseller = seller()
    keys = reseller.stripe_keys.get(livemode=False)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    first = card_save(actor=SYSTEM, subscriber=subscriber, payment_method_id=_pm(stripe_base, keys),
                      now=NOW)
    assert (first.brand, first.last4, first.exp_month, first.is_default) == ("visa", "4242", 12,
                                                                              True)
    second = card_save(actor=SYSTEM, subscriber=subscriber,
                       payment_method_id=_pm(stripe_base, keys), now=NOW)
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    # One customer at Stripe for the subscriber, both cards attached to it.
    customer = StripeCustomer.objects.get(subscriber=subscriber)
    assert len(stripe_base.objects("customer")) == 1
    attached = {pm["id"]: pm.get("customer") for pm in stripe_base.objects("payment_method")}
    assert attached[first.stripe_id] == attached[second.stripe_id] == customer.stripe_id


def test_saving_a_disabled_card_again_enables_it(stripe_base: StripeServer) -> None:
    reseller = seller()
    keys = reseller.stripe_keys.get(livemode=False)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    pm = _pm(stripe_base, keys)
    card = card_save(actor=SYSTEM, subscriber=subscriber, payment_method_id=pm, now=NOW)
    PaymentMethod.objects.filter(pk=card.pk).update(status=CardStatus.DISABLED,
                                                    status_reason="declined")
    again = card_save(actor=SYSTEM, subscriber=subscriber, payment_method_id=pm, now=NOW)
    assert again.pk == card.pk
    assert (again.status, again.status_reason) == (CardStatus.ENABLED, "")


def test_a_card_of_another_subscriber_or_not_a_card_is_refused(stripe_base: StripeServer) -> None:
    reseller = seller()
    keys = reseller.stripe_keys.get(livemode=False)
    owner, other = (SubscriberFactory.create(reseller=reseller, livemode=False) for _ in "ab")
    pm = _pm(stripe_base, keys)
    card_save(actor=SYSTEM, subscriber=owner, payment_method_id=pm, now=NOW)
    with pytest.raises(NotFound):
        card_save(actor=SYSTEM, subscriber=other, payment_method_id=pm, now=NOW)
    with pytest.raises(ValidationError) as refused:
        card_save(actor=SYSTEM, subscriber=other, payment_method_id="4242424242424242", now=NOW)
    assert refused.value.code == "invalid_payment_method"
    assert PaymentMethod.objects.filter(subscriber=other).count() == 0


def test_a_removed_card_is_detached_at_stripe_and_never_charged(stripe_base: StripeServer) -> None:
    reseller = seller()
    keys = reseller.stripe_keys.get(livemode=False)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    card = card_save(actor=SYSTEM, subscriber=subscriber,
                     payment_method_id=_pm(stripe_base, keys), now=NOW)
    card_remove(actor=SYSTEM, card=card, now=NOW)
    card.refresh_from_db()
    assert (card.status, card.is_default) == (CardStatus.DETACHED, False)
    detached = next(pm for pm in stripe_base.objects("payment_method") if pm["id"] == card.stripe_id)
    assert detached.get("customer") is None


def test_a_charge_that_needs_the_cardholder_stays_waiting_when_read_back(
        stripe_base: StripeServer) -> None:
    """Stripe answers an off-session charge the bank wants confirmed with authentication_required
    and a PaymentIntent in requires_payment_method: read back, it is still not a decline."""
    reseller = seller()
    keys = reseller.stripe_keys.get(livemode=False)
    with time_machine.travel(NOW, tick=False):
        account = renewing_account(reseller, priced_plan(reseller), source="card", now=NOW)
        card = card_save(actor=SYSTEM, subscriber=account.subscriber,
                         payment_method_id=_pm(stripe_base, keys, AUTH_CARD), now=NOW)
        assert account.expires_at is not None
        collection = card_collect(account, months=1,
                                  purpose_key=collection_key(account, account.expires_at))
        assert not collection.ok and not collection.pending
        assert collection.action_url
        payment = Payment.objects.get(account=account)
        assert payment.state == PaymentState.REQUIRES_ACTION and payment.stripe_payment_intent
        payment = payment_resolve(payment, now=NOW)
    assert payment.state == PaymentState.REQUIRES_ACTION
    card.refresh_from_db()
    assert card.status == CardStatus.ENABLED
