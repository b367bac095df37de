"""A refund leaves the account's period unless asked; asked, it takes the months back once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client

from apps.api.models import Scope
from apps.api.services.api_keys import api_key_create
from apps.core.dates import add_months
from apps.core.errors import StateConflict, ValidationError
from apps.payments.charges import (
    card_collect,
    payment_apply,
    payment_record_manual,
    payment_refund,
    payments_janitor,
)
from apps.payments.models import Payment, PaymentSource, Refund, RefundState
from apps.payments.services import collection_key
from apps.subscriptions.models import AccountEvent, EventAction, ServiceAccount
from apps.subscriptions.services import account_shorten, account_terminate

from ..conftest import SYSTEM
from ..stripe_server import StripeServer
from .cards import OK_CARD, priced_plan, renewing_account, save_card, seller

NOW = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def _cash_renewal(account: ServiceAccount, key: str) -> Payment:
    return payment_record_manual(actor=SYSTEM, subscriber=account.subscriber, amount=999,
                                 currency="EUR", source=PaymentSource.CASH, reference=key,
                                 idempotency_key=key, account=account, months=1,
                                 now=NOW).payment


def _account() -> ServiceAccount:
    reseller = seller(keys=False)
    return renewing_account(reseller, priced_plan(reseller), source="wallet", now=NOW)


def test_a_refund_keeps_the_period_unless_asked() -> None:
    account = _account()
    paid = _cash_renewal(account, "c-1")
    account.refresh_from_db()
    renewed_to = account.expires_at
    payment_refund(actor=SYSTEM, payment=paid, amount=999, idempotency_key="r-1", now=NOW)
    account.refresh_from_db()
    assert account.expires_at == renewed_to
    assert not AccountEvent.objects.filter(account=account, action=EventAction.SHORTEN).exists()


def test_asked_the_whole_refund_takes_the_months_back_once() -> None:
    account = _account()
    paid = _cash_renewal(account, "c-1")
    account.refresh_from_db()
    assert account.expires_at is not None
    renewed_to = account.expires_at
    for _ in range(2):  # a retry with the same key shortens nothing again
        refund = payment_refund(actor=SYSTEM, payment=paid, amount=999, idempotency_key="r-1",
                                shorten=True, now=NOW)
    account.refresh_from_db()
    assert account.expires_at == add_months(renewed_to, -1)
    event = AccountEvent.objects.get(account=account, action=EventAction.SHORTEN)
    assert (event.old_expires_at, event.new_expires_at) == (renewed_to, account.expires_at)
    assert refund.shortened_account and refund.state == RefundState.SUCCEEDED


def test_a_partial_refund_cannot_shorten_and_writes_nothing() -> None:
    account = _account()
    paid = _cash_renewal(account, "c-1")
    with pytest.raises(ValidationError) as refused:
        payment_refund(actor=SYSTEM, payment=paid, amount=500, idempotency_key="r-1",
                       shorten=True, now=NOW)
    assert refused.value.code == "shorten_needs_full_refund"
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert paid.refunded_amount == 0


def test_a_period_is_never_shortened_to_before_it_starts() -> None:
    account = _account()
    with pytest.raises(StateConflict) as refused:
        account_shorten(actor=SYSTEM, account=account, months=3, reason="too much", now=NOW)
    assert refused.value.code == "cannot_shorten"


def test_a_card_refund_shortens_once_stripe_has_given_the_money_back(
        stripe_base: StripeServer, settings: Any) -> None:
    reseller = seller()
    with time_machine.travel(NOW, tick=False):
        account = renewing_account(reseller, priced_plan(reseller), source="card", now=NOW)
        save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
        assert account.expires_at is not None
        collected = card_collect(account, months=1,
                                 purpose_key=collection_key(account, account.expires_at))
        assert collected.ok and collected.payment_id
        paid = Payment.objects.get(pk=collected.payment_id)
        assert payment_apply(paid, now=NOW) == "renewed"
        account.refresh_from_db()
        paid.refresh_from_db()
        before = account.expires_at
        stripe_base.hang_next(1, seconds=1.0, path=r"/v1/refunds", carried_out=False)
        settings.STRIPE_TIMEOUT_SECONDS = 0.3
        unknown = payment_refund(actor=SYSTEM, payment=paid, amount=paid.amount,
                                 idempotency_key="r-card", shorten=True, now=NOW)
        settings.STRIPE_TIMEOUT_SECONDS = 20
        # Stripe did not answer: the money is not known to be back, the period stays.
        assert unknown.state == RefundState.UNKNOWN
        account.refresh_from_db()
        assert account.expires_at == before
        payments_janitor(now=NOW + dt.timedelta(minutes=10))
    unknown.refresh_from_db()
    assert unknown.state == RefundState.SUCCEEDED
    account.refresh_from_db()
    assert account.expires_at == add_months(before, -1)
    assert len(stripe_base.objects("refund")) == 1


def test_the_api_refund_takes_shorten(client: Client) -> None:
    account = _account()
    paid = _cash_renewal(account, "c-1")
    _, secret = api_key_create(actor=SYSTEM, reseller=account.reseller, name="k",
                               mode="live" if account.livemode else "test",
                               scopes=[Scope.PAYMENTS_WRITE])
    response = client.post(f"/api/v1/payments/{paid.pk}/refunds",
                           {"amount": 999, "shorten": True}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.json()
    assert response.json()["shorten"] is True
    assert AccountEvent.objects.filter(account=account, action=EventAction.SHORTEN).count() == 1


def test_an_account_that_cannot_be_shortened_keeps_its_period_and_the_refund_stands() -> None:
    account = _account()
    paid = _cash_renewal(account, "c-1")
    # Terminated since: the money still goes back, the period is left as it was.
    account_terminate(actor=SYSTEM, account=account, reason="left", now=NOW)
    refund = payment_refund(actor=SYSTEM, payment=paid, amount=999, idempotency_key="r-1",
                            shorten=True, now=NOW)
    assert refund.state == RefundState.SUCCEEDED
    assert not AccountEvent.objects.filter(account=account, action=EventAction.SHORTEN).exists()
