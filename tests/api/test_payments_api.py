"""Payments through the panel over the API: wallets and top-ups, payments, refunds, the
renewal settings of an account, and the payment webhooks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.api import serializers as s
from apps.api.models import IdempotencyRecord, WebhookDelivery
from apps.api.objects import payment_object, refund_object
from apps.payments.charges import payment_record_manual, sync_from_intent, wallet_top_up
from apps.payments.models import (
    CardStatus,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentSource,
    PaymentState,
    Refund,
    Wallet,
    WalletEntry,
)
from apps.payments.wallets import wallet_adjust
from apps.subscriptions.models import Plan, PlanPrice, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create

from ..conftest import SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory
from .conftest import Receiver, assert_error, client_for, make_key

pytestmark = pytest.mark.django_db

KEYS = iter(range(10**6))


def _key() -> str:
    return f"k-{next(KEYS)}"


@pytest.fixture
def priced(plan: Plan) -> Plan:
    PlanPrice.objects.create(plan=plan, currency="EUR", amount=999)
    return plan


def _subscriber(reseller: Reseller, *, livemode: bool = True) -> Subscriber:
    return SubscriberFactory.create(reseller=reseller, livemode=livemode)


def _account(reseller: Reseller, plan: Plan, *, livemode: bool = True,
             now: dt.datetime | None = None) -> ServiceAccount:
    grant(reseller, 10, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=_subscriber(reseller, livemode=livemode),
                                plan=plan, now=now)
    return account


def _top_up(api: APIClient, subscriber: Subscriber, key: str | None = None,
            **body: Any) -> Any:
    headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(f"/api/v1/subscribers/{subscriber.pk}/wallet/top-ups",
                    {"amount": 2000, "currency": "EUR", "reference": "WH-INV-1", **body},
                    format="json", **headers)


def _refund(api: APIClient, payment: Payment, key: str | None = None, **body: Any) -> Any:
    headers: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(f"/api/v1/payments/{payment.pk}/refunds", {"amount": 300, **body},
                    format="json", **headers)


def _cash_renewal(account: ServiceAccount, *, amount: int = 999) -> Payment:
    """A paid renewal of the account, in cash, recorded by staff."""
    return payment_record_manual(actor=SYSTEM, subscriber=account.subscriber, amount=amount,
                                 currency="EUR", source=PaymentSource.CASH, reference="R-1",
                                 idempotency_key=_key(), account=account,
                                 months=1).payment


def _card_payment(account: ServiceAccount, *, state: str = PaymentState.SUCCEEDED,
                  **fields: Any) -> Payment:
    """A card payment row as the card collector writes it (no Stripe server in these tests)."""
    now = timezone.now()
    card = PaymentMethod.objects.create(
        reseller_id=account.reseller_id, subscriber=account.subscriber,
        livemode=account.livemode, stripe_id=f"pm_{next(KEYS)}", brand="visa", last4="4242",
        status=CardStatus.ENABLED, created_at=now, updated_at=now)
    key = f"renewal:{account.pk}:{next(KEYS)}"
    return Payment.objects.create(
        reseller_id=account.reseller_id, subscriber=account.subscriber, account=account,
        livemode=account.livemode, source=PaymentSource.CARD, purpose=PaymentPurpose.RENEWAL,
        state=state, amount=999, currency="EUR", purpose_key=key, idempotency_key=f"{key}:1",
        payment_method=card, paid_at=now if state == PaymentState.SUCCEEDED else None,
        created_at=now, updated_at=now, **fields)


def _counts() -> tuple[int, int, int, int]:
    return (Payment.objects.count(), Refund.objects.count(), WalletEntry.objects.count(),
            Wallet.objects.count())


# ---------------------------------------------------------------- the objects


def test_the_payment_object_is_the_documented_shape(api: APIClient, reseller: Reseller,
                                                    priced: Plan) -> None:
    payment = _card_payment(_account(reseller, priced))
    body = api.get(f"/api/v1/payments/{payment.pk}").json()
    assert set(body) == set(s.PaymentObjectOut().fields)
    assert body == payment_object(Payment.objects.get(pk=payment.pk))
    assert body["object"] == "payment" and body["card"] == {"brand": "visa", "last4": "4242"}
    assert body["error"] is None and body["refunds"] == []
    refund = Refund.objects.create(
        reseller_id=reseller.pk, payment=payment, livemode=True, amount=5, currency="EUR",
        destination="card", idempotency_key="x", actor_label="t", created_at=timezone.now(),
        updated_at=timezone.now())
    assert set(refund_object(refund)) == set(s.RefundOut().fields)


def test_a_declined_payment_shows_its_error(api: APIClient, reseller: Reseller,
                                            priced: Plan) -> None:
    payment = _card_payment(_account(reseller, priced), state=PaymentState.FAILED,
                            error_code="card_declined", decline_code="insufficient_funds",
                            error_message="Your card has insufficient funds.")
    body = api.get(f"/api/v1/payments/{payment.pk}").json()
    assert body["state"] == "failed" and body["paid_at"] is None
    assert body["error"] == {"code": "card_declined", "decline_code": "insufficient_funds",
                             "message": "Your card has insufficient funds."}


# ---------------------------------------------------------------- wallet and top-ups


def test_a_top_up_credits_the_wallet_once_per_key(api: APIClient, reseller: Reseller) -> None:
    subscriber = _subscriber(reseller)
    assert api.get(f"/api/v1/subscribers/{subscriber.pk}/wallet").json() == {
        "balances": [], "livemode": True}
    first = _top_up(api, subscriber, "top-1")
    assert first.status_code == 201, first.content
    body = first.json()
    assert set(body) == set(s.TopUpOut().fields)
    assert (body["source"], body["purpose"], body["state"], body["amount"], body["account"],
            body["reference"], body["paid_accounts"]) == (
        "external", "top_up", "succeeded", 2000, None, "WH-INV-1", [])
    replay = _top_up(api, subscriber, "top-1")
    assert replay.status_code == 201 and replay.json() == body
    assert replay["Idempotent-Replayed"] == "true"
    assert_error(_top_up(api, subscriber, "top-1", amount=5), 409, "idempotency_key_reused")
    assert Payment.objects.count() == 1 and WalletEntry.objects.count() == 1
    _top_up(api, subscriber, "top-2", amount=500, currency="USD")
    assert api.get(f"/api/v1/subscribers/{subscriber.pk}/wallet").json() == {
        "balances": [{"currency": "EUR", "amount": 2000}, {"currency": "USD", "amount": 500}],
        "livemode": True}


def test_the_same_key_from_another_key_of_the_mode_finds_the_first_top_up(
        api: APIClient, reseller: Reseller) -> None:
    subscriber = _subscriber(reseller)
    first = _top_up(api, subscriber, "top-1").json()
    other_key = client_for(make_key(reseller))
    again = _top_up(other_key, subscriber, "top-1")
    assert again.status_code == 200 and again.json()["id"] == first["id"]
    reused = assert_error(_top_up(other_key, subscriber, "top-1", amount=1), 409,
                          "idempotency_key_reused")
    assert reused["param"] == "Idempotency-Key"
    assert Wallet.objects.get().balance == 2000


def test_live_and_test_keys_keep_their_top_up_keys_apart(
        api: APIClient, test_api: APIClient, reseller: Reseller) -> None:
    live, test = _subscriber(reseller), _subscriber(reseller, livemode=False)
    assert _top_up(api, live, "same").status_code == 201
    response = _top_up(test_api, test, "same")
    assert response.status_code == 201 and response.json()["livemode"] is False
    assert test_api.get(f"/api/v1/subscribers/{test.pk}/wallet").json() == {
        "balances": [{"currency": "EUR", "amount": 2000}], "livemode": False}


def test_a_top_up_pays_the_accounts_waiting_on_the_wallet(
        api: APIClient, reseller: Reseller, priced: Plan) -> None:
    account = _account(reseller, priced, now=timezone.now() - dt.timedelta(days=29))
    renewal = api.post(f"/api/v1/accounts/{account.pk}/renewal", {"renewal_source": "wallet"},
                       format="json")
    assert renewal.status_code == 200 and renewal.json()["renewal_source"] == "wallet"
    expires = account.expires_at
    body = _top_up(api, account.subscriber, _key(), amount=1500).json()
    assert body["paid_accounts"] == [{"account": account.pk, "result": "renewed"}]
    account.refresh_from_db()
    assert expires is not None and account.expires_at is not None
    assert account.expires_at > expires
    assert api.get(f"/api/v1/subscribers/{account.subscriber_id}/wallet").json()[
        "balances"] == [{"currency": "EUR", "amount": 501}]
    wallet_payment = Payment.objects.get(source=PaymentSource.WALLET)
    listed = api.get("/api/v1/payments", {"source": "wallet"}).json()["data"]
    assert [p["id"] for p in listed] == [wallet_payment.pk]
    assert listed[0]["account"] == account.pk and listed[0]["purpose"] == "renewal"


def test_a_top_up_needs_an_idempotency_key(api: APIClient, reseller: Reseller) -> None:
    error = assert_error(_top_up(api, _subscriber(reseller)), 400, "idempotency_key_required")
    assert error["param"] == "Idempotency-Key"
    assert_error(_top_up(api, _subscriber(reseller), "not a key!"), 400,
                 "invalid_idempotency_key")
    assert _counts() == (0, 0, 0, 0) and not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(("body", "code", "param"), [
    ({"amount": -5}, "invalid_amount", "amount"),
    ({"amount": 0}, "invalid_amount", "amount"),
    ({"amount": "9.5"}, "invalid_amount", "amount"),
    ({"amount": 9.5}, "invalid_amount", "amount"),
    ({"amount": 9.0}, "invalid_amount", "amount"),
    ({"amount": "100"}, "invalid_amount", "amount"),
    ({"amount": "ten"}, "invalid_amount", "amount"),
    ({"amount": True}, "invalid_amount", "amount"),
    ({"amount": None}, "null", "amount"),
    ({"amount": 10**13}, "invalid_amount", "amount"),
    ({"currency": "XYZ"}, "invalid_currency", "currency"),
    ({"currency": "eur"}, "invalid_currency", "currency"),
    ({"currency": "EURO"}, "max_length", "currency"),
    ({"reference": ""}, "blank", "reference"),
    ({"reference": "x" * 201}, "max_length", "reference"),
])
def test_bad_top_ups_are_refused_and_write_nothing(api: APIClient, reseller: Reseller,
                                                    body: dict[str, Any], code: str,
                                                    param: str) -> None:
    error = assert_error(_top_up(api, _subscriber(reseller), _key(), **body), 400, code)
    assert error["param"] == param
    assert _counts() == (0, 0, 0, 0)


def test_wallets_of_another_reseller_or_mode_are_404(
        api: APIClient, test_api: APIClient, reseller: Reseller,
        other_reseller: Reseller) -> None:
    live, theirs = _subscriber(reseller), _subscriber(other_reseller)
    for client, subscriber in [(test_api, live), (api, theirs)]:
        assert_error(client.get(f"/api/v1/subscribers/{subscriber.pk}/wallet"), 404,
                     "subscriber_not_found")
        assert_error(_top_up(client, subscriber, _key()), 404, "subscriber_not_found")
    assert_error(api.get("/api/v1/subscribers/abc/wallet"), 404)
    assert _counts() == (0, 0, 0, 0)


def test_payments_need_their_scopes(reseller: Reseller, priced: Plan) -> None:
    payment = _card_payment(_account(reseller, priced))
    subscriber = payment.subscriber
    reader = client_for(make_key(reseller, scopes=["accounts:read", "payments:write"]))
    for path in [f"/api/v1/subscribers/{subscriber.pk}/wallet", "/api/v1/payments",
                 f"/api/v1/payments/{payment.pk}"]:
        error = assert_error(reader.get(path), 403, "missing_scope")
        assert "payments:read" in error["message"]
    writer = client_for(make_key(reseller, scopes=["accounts:read", "payments:read"]))
    before = _counts()
    assert_error(_top_up(writer, subscriber, _key()), 403, "missing_scope")
    assert_error(_refund(writer, payment, _key()), 403, "missing_scope")
    assert writer.get("/api/v1/payments").status_code == 200
    assert _counts() == before


# ---------------------------------------------------------------- payments


def test_payments_list_filters_and_pages(api: APIClient, test_api: APIClient,
                                         reseller: Reseller, other_reseller: Reseller,
                                         priced: Plan) -> None:
    card = _card_payment(_account(reseller, priced), state=PaymentState.FAILED)
    subscriber = _subscriber(reseller)
    top_ups = [wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=100 + n,
                             currency="EUR", source=PaymentSource.CASH, reference=f"C-{n}",
                             idempotency_key=_key()).payment for n in range(3)]
    _card_payment(_account(reseller, priced, livemode=False))
    _card_payment(_account(other_reseller, PlanFactory.create(reseller=other_reseller)))

    def ids(**query: Any) -> list[int]:
        response = api.get("/api/v1/payments", dict(query))
        assert response.status_code == 200, response.content
        return [p["id"] for p in response.json()["data"]]

    newest_first = [*(p.pk for p in reversed(top_ups)), card.pk]
    assert ids() == newest_first
    assert ids(state="failed") == [card.pk]
    assert ids(source="cash") == newest_first[:3]
    assert ids(subscriber=subscriber.pk) == newest_first[:3]
    Payment.objects.filter(pk=card.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    yesterday = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert ids(created_before=yesterday) == [card.pk]
    assert ids(created_after=yesterday) == newest_first[:3]
    first = api.get("/api/v1/payments", {"limit": 2}).json()
    assert [p["id"] for p in first["data"]] == newest_first[:2]
    rest = api.get("/api/v1/payments", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [p["id"] for p in rest["data"]] == newest_first[2:] and rest["next_cursor"] is None
    assert len(test_api.get("/api/v1/payments").json()["data"]) == 1
    bad: list[dict[str, Any]] = [{"state": "lost"}, {"source": "gold"}, {"subscriber": "x"},
                                 {"created_after": "yesterday"}, {"cursor": "-1"},
                                 {"limit": 0}]
    for query in bad:
        assert_error(api.get("/api/v1/payments", query), 400)


def test_payments_list_query_count_is_flat(api: APIClient, reseller: Reseller,
                                           priced: Plan) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/payments").status_code == 200
        return len(queries)

    payment = _card_payment(_account(reseller, priced))
    _refund(api, payment, _key(), destination="wallet")
    few = count()
    for _ in range(5):
        payment = _card_payment(_account(reseller, priced))
        _refund(api, payment, _key(), destination="wallet")
    assert count() == few


def test_payments_of_another_reseller_or_mode_are_404(
        api: APIClient, test_api: APIClient, reseller: Reseller, other_reseller: Reseller,
        priced: Plan) -> None:
    live = _card_payment(_account(reseller, priced))
    theirs = _card_payment(_account(other_reseller, PlanFactory.create(reseller=other_reseller)))
    for client, payment in [(test_api, live), (api, theirs)]:
        assert_error(client.get(f"/api/v1/payments/{payment.pk}"), 404, "payment_not_found")
        assert_error(_refund(client, payment, _key()), 404, "payment_not_found")
    assert_error(api.get("/api/v1/payments/99999999"), 404, "payment_not_found")
    assert Refund.objects.count() == 0
    assert Payment.objects.filter(refunded_amount__gt=0).count() == 0


# ---------------------------------------------------------------- refunds


def test_a_refund_to_the_wallet(api: APIClient, reseller: Reseller, priced: Plan) -> None:
    payment = _cash_renewal(_account(reseller, priced))
    response = _refund(api, payment, "r-1", reason="Goodwill")
    assert response.status_code == 201, response.content
    refund = response.json()
    assert set(refund) == set(s.RefundOut().fields)
    assert (refund["object"], refund["payment"], refund["amount"], refund["destination"],
            refund["state"], refund["reason"]) == (
        "refund", payment.pk, 300, "wallet", "succeeded", "Goodwill")
    detail = api.get(f"/api/v1/payments/{payment.pk}").json()
    assert (detail["state"], detail["refunded_amount"]) == ("partially_refunded", 300)
    assert detail["refunds"] == [refund]
    assert api.get(f"/api/v1/subscribers/{payment.subscriber_id}/wallet").json()[
        "balances"] == [{"currency": "EUR", "amount": 300}]
    replay = _refund(api, payment, "r-1", reason="Goodwill")
    assert replay.status_code == 201 and replay.json() == refund
    assert replay["Idempotent-Replayed"] == "true"
    reused = assert_error(_refund(api, payment, "r-1", amount=301), 409,
                          "idempotency_key_reused")
    assert reused["param"] == "Idempotency-Key" and reused["type"] == "idempotency_error"
    assert Refund.objects.count() == 1
    rest = _refund(api, payment, "r-2", amount=699)
    assert rest.status_code == 201
    detail = api.get(f"/api/v1/payments/{payment.pk}").json()
    assert (detail["state"], detail["refunded_amount"]) == ("refunded", 999)
    assert [r["id"] for r in detail["refunds"]] == [refund["id"], rest.json()["id"]]


def test_a_card_refund_without_stripe_keys_fails_and_gives_nothing_back(
        api: APIClient, reseller: Reseller, priced: Plan) -> None:
    payment = _card_payment(_account(reseller, priced))
    response = _refund(api, payment, _key())
    assert response.status_code == 201 and response.json()["destination"] == "card"
    assert response.json()["state"] == "failed"
    payment.refresh_from_db()
    assert (payment.state, payment.refunded_amount) == ("succeeded", 0)


def test_a_refund_needs_an_idempotency_key(api: APIClient, reseller: Reseller,
                                           priced: Plan) -> None:
    payment = _cash_renewal(_account(reseller, priced))
    before = _counts()
    assert_error(_refund(api, payment), 400, "idempotency_key_required")
    assert_error(_refund(api, payment, "ä"), 400, "invalid_idempotency_key")
    assert _counts() == before


@pytest.mark.parametrize(("body", "code"), [
    ({"amount": 0}, "invalid_amount"),
    ({"amount": -1}, "invalid_amount"),
    ({"amount": 9.5}, "invalid_amount"),
    ({"amount": "9.5"}, "invalid_amount"),
    ({"amount": "300"}, "invalid_amount"),
    ({"amount": False}, "invalid_amount"),
    ({"amount": 1000}, "refund_exceeds_payment"),
    ({"destination": "cash"}, "invalid_choice"),
    ({"destination": "card"}, "refund_destination_invalid"),
    ({"reason": "x" * 501}, "max_length"),
])
def test_bad_refunds_are_refused_and_write_nothing(api: APIClient, reseller: Reseller,
                                                   priced: Plan, body: dict[str, Any],
                                                   code: str) -> None:
    payment = _cash_renewal(_account(reseller, priced))
    before = _counts()
    assert_error(_refund(api, payment, _key(), **body), 400, code)
    assert _counts() == before
    payment.refresh_from_db()
    assert payment.refunded_amount == 0


def test_a_refund_above_what_is_left_is_refused(api: APIClient, reseller: Reseller,
                                                priced: Plan) -> None:
    payment = _cash_renewal(_account(reseller, priced))
    assert _refund(api, payment, _key(), amount=900).status_code == 201
    error = assert_error(_refund(api, payment, _key(), amount=100), 400,
                         "refund_exceeds_payment")
    assert error["param"] == "amount"
    assert Refund.objects.count() == 1


def test_refunding_a_top_up_takes_it_out_of_the_wallet(api: APIClient,
                                                       reseller: Reseller) -> None:
    subscriber = _subscriber(reseller)
    top_up = Payment.objects.get(pk=_top_up(api, subscriber, _key()).json()["id"])
    response = _refund(api, top_up, _key(), amount=500)
    assert response.status_code == 201, response.json()
    assert response.json()["destination"] == "outside"
    balance = api.get(f"/api/v1/subscribers/{subscriber.pk}/wallet").json()["balances"]
    assert balance == [{"currency": "EUR", "amount": 1500}]
    # Into the wallet is not where a top-up's money goes back.
    refused = _refund(api, top_up, _key(), amount=100, destination="wallet")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "refund_destination_invalid"


def test_a_top_up_already_spent_is_not_refunded(api: APIClient, reseller: Reseller) -> None:
    subscriber = _subscriber(reseller)
    top_up = Payment.objects.get(pk=_top_up(api, subscriber, _key()).json()["id"])
    # Most of it spent (here by a correction): what is left cannot pay the refund back.
    wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR", delta=-1800,
                  reason="spent", idempotency_key=_key())
    refused = _refund(api, top_up, _key(), amount=500)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_wallet_balance"
    top_up.refresh_from_db()
    assert top_up.refunded_amount == 0
    assert top_up.refunds.count() == 0


def test_refunds_the_payment_state_refuses(api: APIClient, reseller: Reseller,
                                           priced: Plan) -> None:
    account = _account(reseller, priced)
    failed = _card_payment(account, state=PaymentState.FAILED)
    assert_error(_refund(api, failed, _key()), 409, "payment_not_refundable")
    paid = _cash_renewal(account)
    _card_payment(account, state=PaymentState.PROCESSING)
    assert_error(_refund(api, paid, _key()), 409, "payment_in_progress")
    assert Refund.objects.count() == 0


# ---------------------------------------------------------------- accounts


def test_an_account_is_created_in_a_currency_its_plan_is_priced_in(
        api: APIClient, reseller: Reseller, priced: Plan) -> None:
    grant(reseller, 5)
    PlanPrice.objects.create(plan=priced, currency="USD", amount=1099)

    def create(**extra: Any) -> Any:
        return api.post("/api/v1/accounts", {
            "subscriber": {"external_id": "c-1", "email": "ana@example.net"},
            "plan": priced.pk, **extra}, format="json")

    for currency, code in [("GBP", "currency_not_offered"), ("XYZ", "invalid_currency"),
                           ("US", "min_length")]:
        assert_error(create(currency=currency), 400, code)
    assert not ServiceAccount.objects.exists() and not Subscriber.objects.exists()
    body = create(currency="USD").json()
    assert (body["currency"], body["renewal_source"], body["renewal_period_months"]) == (
        "USD", "external", 1)
    assert create().json()["currency"] == "EUR"


def test_renewal_settings_change_together_or_not_at_all(
        api: APIClient, test_api: APIClient, reseller: Reseller, priced: Plan) -> None:
    account = _account(reseller, priced)
    url = f"/api/v1/accounts/{account.pk}/renewal"
    body = api.post(url, {"renewal_source": "wallet", "renewal_period_months": 3},
                    format="json").json()
    assert (body["renewal_source"], body["renewal_period_months"], body["auto_renew"]) == (
        "wallet", 3, True)
    for bad, code in [({"renewal_source": "gold", "auto_renew": False},
                       "invalid_renewal_source"),
                      ({"renewal_period_months": 0, "auto_renew": False}, "min_value"),
                      ({"renewal_period_months": 1.5}, "invalid"),
                      ({"auto_renew": "maybe"}, "invalid")]:
        assert_error(api.post(url, bad, format="json"), 400, code)
    account.refresh_from_db()
    assert (account.renewal_source, account.renewal_period_months, account.auto_renew) == (
        "wallet", 3, True)
    off = api.post(url, {"auto_renew": False}, format="json").json()
    assert off["auto_renew"] is False and off["renewal_source"] == "wallet"
    assert api.get(f"/api/v1/accounts/{account.pk}").json()["renewal_period_months"] == 3
    assert_error(test_api.post(url, {"auto_renew": True}, format="json"), 404)
    reader = client_for(make_key(reseller, scopes=["accounts:read"]))
    assert_error(reader.post(url, {"auto_renew": True}, format="json"), 403, "missing_scope")


def test_a_renewal_period_is_whole_periods_of_the_plan(api: APIClient,
                                                       reseller: Reseller) -> None:
    quarterly = PlanFactory.create(reseller=reseller, duration_months=3)
    account = _account(reseller, quarterly)
    url = f"/api/v1/accounts/{account.pk}/renewal"
    assert_error(api.post(url, {"renewal_period_months": 2}, format="json"), 400)
    assert api.post(url, {"renewal_period_months": 6}, format="json").status_code == 200


# ---------------------------------------------------------------- webhooks


def _endpoint(api: APIClient, url: str, events: list[str]) -> None:
    response = api.post("/api/v1/webhook-endpoints", {"url": url, "events": events},
                        format="json")
    assert response.status_code == 201, response.content


def test_payment_webhooks_are_delivered_with_the_payment_object(
        api: APIClient, reseller: Reseller, priced: Plan, receiver: Receiver,
        django_capture_on_commit_callbacks: Callable[..., Any], eager_celery: None) -> None:
    _endpoint(api, receiver.url, ["payment.succeeded", "payment.refunded", "payment.failed"])
    subscriber = _subscriber(reseller)
    with django_capture_on_commit_callbacks(execute=True):
        top_up = _top_up(api, subscriber, _key()).json()
    with django_capture_on_commit_callbacks(execute=True):
        refund = _refund(api, Payment.objects.get(pk=top_up["id"]), _key(), amount=500).json()
    card = _card_payment(_account(reseller, priced), state=PaymentState.PROCESSING)
    declined = stripe.PaymentIntent.construct_from({
        "id": "pi_declined", "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "decline_code": "do_not_honor",
                               "message": "Your card was declined."}}, "sk_test_x")
    with django_capture_on_commit_callbacks(execute=True):
        sync_from_intent(card, declined, now=timezone.now())
    payloads = receiver.payloads()
    assert [p["type"] for p in payloads] == ["payment.succeeded", "payment.refunded",
                                             "payment.failed"]
    succeeded, refunded, failed = (p["data"] for p in payloads)
    assert succeeded["payment_id"] == top_up["id"] and succeeded["state"] == "succeeded"
    assert succeeded["payment"] == {k: v for k, v in top_up.items() if k != "paid_accounts"}
    assert refunded["refunded_amount"] == 500
    assert refunded["payment"]["refunds"] == [refund]
    assert failed["payment_id"] == card.pk and failed["error"] == "Your card was declined."
    assert failed["payment"]["error"] == {"code": "card_declined",
                                          "decline_code": "do_not_honor",
                                          "message": "Your card was declined."}
    assert all(p["livemode"] is True for p in payloads)
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 3


def test_the_payment_webhooks_are_offered(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/?format=json").json()
    events = schema["components"]["schemas"]["EventsEnum"]["enum"]
    assert {"payment.succeeded", "payment.failed", "payment.refunded"} <= set(events)


# ---------------------------------------------------------------- schema


def test_the_schema_has_the_payment_endpoints(client: Any, db: None) -> None:
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    for path, method in [("/api/v1/subscribers/{id}/wallet", "get"),
                         ("/api/v1/subscribers/{id}/wallet/top-ups", "post"),
                         ("/api/v1/payments", "get"), ("/api/v1/payments/{id}", "get"),
                         ("/api/v1/payments/{id}/refunds", "post"),
                         ("/api/v1/accounts/{id}/renewal", "post")]:
        operation = paths[path][method]
        assert {"401", "403", "404", "429"} <= set(operation["responses"]) or path == (
            "/api/v1/payments")
        if method == "post":
            header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert header.get("required", False) is (path != "/api/v1/accounts/{id}/renewal")
