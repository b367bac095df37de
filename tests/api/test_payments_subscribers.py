"""Payments recorded from outside, subscribers, plans and credits over the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.payments.models import ExternalPayment
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create

from ..conftest import SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory
from .conftest import assert_error, client_for, make_key

pytestmark = pytest.mark.django_db


def _account(reseller: Reseller, plan: Plan, *, livemode: bool = True) -> ServiceAccount:
    grant(reseller, 5, livemode=livemode)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan)
    return account


def _pay(account: ServiceAccount, reference: str = "WH-1", **extra: Any) -> dict[str, Any]:
    return {"account": account.pk, "amount": 999, "currency": "EUR", "reference": reference,
            "paid_at": "2026-03-10T11:58:00Z", **extra}


# ---------------------------------------------------------------- payments


def test_payment_renews_the_account_once_per_reference(
    api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    account = _account(reseller, plan)
    expires = account.expires_at
    first = api.post("/api/v1/payments", _pay(account), format="json")
    assert first.status_code == 201, first.content
    assert first.json()["renewal"] == "completed" and first.json()["amount"] == 999
    retry = api.post("/api/v1/payments", _pay(account), format="json")
    assert retry.status_code == 200 and retry.json()["renewal"] == "already_recorded"
    account.refresh_from_db()
    assert expires is not None and account.expires_at is not None and account.expires_at > expires
    assert ExternalPayment.objects.count() == 1
    reseller.refresh_from_db()
    assert reseller.credit_balance == 3


def test_reference_reused_for_another_payment_is_409(api: APIClient, reseller: Reseller,
                                                     plan: Plan) -> None:
    account = _account(reseller, plan)
    api.post("/api/v1/payments", _pay(account), format="json")
    assert_error(api.post("/api/v1/payments", _pay(account, amount=5), format="json"), 409,
                 "duplicate_payment_reference")


@pytest.mark.parametrize(("change", "param", "status"), [
    ({"currency": "EURO"}, "currency", 400),
    ({"currency": "XYZ"}, "currency", 400),
    ({"amount": 0}, "amount", 400),
    ({"amount": 9.5}, "amount", 400),
    ({"reference": ""}, "reference", 400),
    ({"paid_at": "yesterday"}, "paid_at", 400),
    ({"paid_at": "2099-01-01T00:00:00Z"}, "paid_at", 400),
])
def test_bad_payments_are_refused_and_write_nothing(
    api: APIClient, reseller: Reseller, plan: Plan, change: dict[str, Any], param: str,
    status: int,
) -> None:
    account = _account(reseller, plan)
    error = assert_error(api.post("/api/v1/payments", _pay(account, **change), format="json"),
                         status)
    assert error["param"] == param
    assert not ExternalPayment.objects.exists()


def test_payment_for_a_terminated_account_is_409_and_not_recorded(
    api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    account = _account(reseller, plan)
    api.post(f"/api/v1/accounts/{account.pk}/terminate", {}, format="json")
    assert_error(api.post("/api/v1/payments", _pay(account), format="json"), 409)
    assert not ExternalPayment.objects.exists()


def test_payment_for_another_resellers_or_modes_account_is_404(
    api: APIClient, reseller: Reseller, plan: Plan, other_reseller: Reseller, other_plan: Plan
) -> None:
    theirs = _account(other_reseller, other_plan)
    assert_error(api.post("/api/v1/payments", _pay(theirs), format="json"), 404)
    test_account = _account(reseller, plan, livemode=False)
    assert_error(api.post("/api/v1/payments", _pay(test_account), format="json"), 404)
    assert not ExternalPayment.objects.exists()


def test_payment_needs_its_scope(reseller: Reseller, plan: Plan) -> None:
    account = _account(reseller, plan)
    client = client_for(make_key(reseller, scopes=["accounts:write"]))
    assert_error(client.post("/api/v1/payments", _pay(account), format="json"), 403,
                 "missing_scope")


# ---------------------------------------------------------------- subscribers


def test_subscriber_create_update_list_retrieve(api: APIClient, reseller: Reseller) -> None:
    created = api.post("/api/v1/subscribers", {"name": "Ana", "email": "Ana@Example.net",
                                               "external_id": "c-5", "country": "ES"},
                       format="json")
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    assert created.json()["email"] == "ana@example.net"
    patched = api.patch(f"/api/v1/subscribers/{sid}", {"phone": "+34 600"}, format="json")
    assert patched.json()["phone"] == "+34 600" and patched.json()["name"] == "Ana"
    assert api.get(f"/api/v1/subscribers/{sid}").json() == patched.json()
    listed = api.get("/api/v1/subscribers?external_id=c-5").json()
    assert [s["id"] for s in listed["data"]] == [sid]
    assert api.delete(f"/api/v1/subscribers/{sid}").status_code == 405
    assert Subscriber.objects.filter(pk=sid).exists()


@pytest.mark.parametrize(("body", "code", "param"), [
    ({"email": "a@example.net"}, "required", "name"),
    ({"name": "A", "email": "nope"}, "invalid", "email"),
    ({"name": "A", "country": "es"}, "invalid_country", "country"),
    ({"name": "A", "marketing_consent": True}, "consent_source_required",
     "marketing_consent_source"),
])
def test_subscriber_bad_input_is_400(api: APIClient, body: dict[str, Any], code: str,
                                     param: str) -> None:
    error = assert_error(api.post("/api/v1/subscribers", body, format="json"), 400, code)
    assert error["param"] == param
    assert not Subscriber.objects.exists()


def test_duplicate_external_id_is_400(api: APIClient) -> None:
    api.post("/api/v1/subscribers", {"name": "A", "external_id": "x"}, format="json")
    assert_error(api.post("/api/v1/subscribers", {"name": "B", "external_id": "x"},
                          format="json"), 400, "duplicate_external_id")


def test_subscribers_of_another_reseller_or_mode_are_404(
    api: APIClient, reseller: Reseller, other_reseller: Reseller
) -> None:
    theirs = SubscriberFactory.create(reseller=other_reseller)
    test_one = SubscriberFactory.create(reseller=reseller, livemode=False)
    for sid in (theirs.pk, test_one.pk):
        assert_error(api.get(f"/api/v1/subscribers/{sid}"), 404, "subscriber_not_found")
        assert_error(api.patch(f"/api/v1/subscribers/{sid}", {"name": "X"}, format="json"), 404)
    assert api.get("/api/v1/subscribers").json()["data"] == []


def test_subscriber_scopes(reseller: Reseller) -> None:
    reader = client_for(make_key(reseller, scopes=["subscribers:read"]))
    assert reader.get("/api/v1/subscribers").status_code == 200
    assert_error(reader.post("/api/v1/subscribers", {"name": "A"}, format="json"), 403)


def test_subscriber_list_query_count_is_flat(
    api: APIClient, reseller: Reseller, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    SubscriberFactory.create_batch(20, reseller=reseller)
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/v1/subscribers?limit=20").json()["data"]) == 20


# ---------------------------------------------------------------- plans and credits


def test_plans_list_with_prices(api: APIClient, reseller: Reseller,
                                other_plan: Plan,
                                django_assert_max_num_queries: Callable[..., Any]) -> None:
    from apps.subscriptions.services import plan_create

    plan_create(actor=SYSTEM, reseller=reseller, name="Yearly", duration_months=12,
                prices={"EUR": 9900, "USD": 10900})
    PlanFactory.create(reseller=reseller, name="Monthly")
    with django_assert_max_num_queries(4):  # key, last use, plans, prices
        data = api.get("/api/v1/plans").json()
    assert data["next_cursor"] is None
    assert {p["name"]: p["prices"] for p in data["data"]} == {
        "Monthly": {}, "Yearly": {"EUR": 9900, "USD": 10900}}


def test_balance_and_ledger_per_mode(api: APIClient, test_api: APIClient,
                                     reseller: Reseller) -> None:
    grant(reseller, 7)
    grant(reseller, 2, livemode=False)
    assert api.get("/api/v1/credits/balance").json() == {"balance": 7, "floor": None,
                                                         "livemode": True}
    assert test_api.get("/api/v1/credits/balance").json()["balance"] == 2
    ledger = api.get("/api/v1/credits/ledger").json()["data"]
    assert [(e["kind"], e["delta"], e["livemode"]) for e in ledger] == [("purchase", 7, True)]
    assert api.get("/api/v1/credits/ledger?kind=renewal").json()["data"] == []
    assert_error(api.get("/api/v1/credits/ledger?kind=gift"), 400)


def test_credits_need_their_scope(reseller: Reseller) -> None:
    client = client_for(make_key(reseller, scopes=["accounts:read"]))
    assert_error(client.get("/api/v1/credits/ledger"), 403, "missing_scope")
    assert_error(client.get("/api/v1/plans"), 403, "missing_scope")


def test_api_writes_are_audited_with_the_key_as_actor(
    api: APIClient, reseller: Reseller, plan: Plan, receiver: Any
) -> None:
    from apps.api.models import ApiKey
    from apps.audit.models import AuditEntry

    account = _account(reseller, plan)
    api.post("/api/v1/payments", _pay(account), format="json")
    api.post("/api/v1/subscribers", {"name": "Bea"}, format="json")
    api.post("/api/v1/webhook-endpoints", {"url": receiver.url, "events": ["credits.low"]},
             format="json")
    key = ApiKey.objects.get(reseller=reseller)
    rows = AuditEntry.objects.filter(actor_api_key_id=key.pk)
    assert {"payment.record", "account.renew", "subscriber.create",
            "webhook_endpoint.create"} <= set(rows.values_list("action", flat=True))
    assert {row.actor_label for row in rows} == {f"api_key:{key.prefix}"}
