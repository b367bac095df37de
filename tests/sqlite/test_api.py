"""REST API v1 on SQLite and the locmem cache: a key, create, renew, list, pay, the rate limit."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from apps.core.dates import add_months
from apps.subscriptions.models import ServiceAccount
from tests.conftest import grant
from tests.factories import PlanFactory

from .conftest import api_client, assert_error, make_key

pytestmark = pytest.mark.django_db


def create(api, plan, external_id: str, **extra):
    return api.post("/api/v1/accounts", {
        "subscriber": {"external_id": external_id, "email": f"{external_id}@example.net",
                       "name": external_id}, "plan": plan.pk, **extra}, format="json")


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


def test_a_key_from_the_command_creates_an_account_and_renews_it(reseller, plan):
    grant(reseller, 5)
    out = io.StringIO()
    call_command("create_api_key", reseller=reseller.slug, mode="live", name="WHMCS",
                 scopes="accounts:read,accounts:write", stdout=out, stderr=io.StringIO())
    api = api_client(out.getvalue().strip())
    assert api.get("/api/v1/ping").json()["mode"] == "live"

    created = create(api, plan, "c-1")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "active" and body["password"] and body["livemode"] is True
    account = ServiceAccount.objects.get(pk=body["id"])

    renewed = api.post(f"/api/v1/accounts/{account.pk}/renew",
                       {"months": 1, "payment_reference": "INV-1"}, format="json")
    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["renewal"] == "completed"
    # The same payment reference again renews nothing.
    again = api.post(f"/api/v1/accounts/{account.pk}/renew",
                     {"months": 1, "payment_reference": "INV-1"}, format="json")
    assert again.json()["expires_at"] == renewed.json()["expires_at"]
    account.refresh_from_db()
    assert account.starts_at is not None
    assert account.expires_at == add_months(account.starts_at, 2)
    reseller.refresh_from_db()
    assert reseller.credit_balance == 3
    # The key has no payments scope.
    assert_error(api.post("/api/v1/payments", {}, format="json"), 403, "missing_scope")


def test_create_and_renew_short_of_credits_wait_and_complete_when_credits_come(
    api, reseller, plan
):
    pending = create(api, plan, "c-2")
    assert pending.status_code == 201
    assert (pending.json()["status"], pending.json()["pending_reason"]) == (
        "pending", "insufficient_credits")
    grant(reseller, 1)
    account_id = pending.json()["id"]
    assert api.get(f"/api/v1/accounts/{account_id}").json()["status"] == "active"
    queued = api.post(f"/api/v1/accounts/{account_id}/renew", {}, format="json")
    assert queued.json()["renewal"] == "queued"
    assert_error(api.post(f"/api/v1/accounts/{account_id}/renew", {}, format="json"), 409,
                 "renewal_already_pending")
    grant(reseller, 1)
    account = ServiceAccount.objects.get(pk=account_id)
    assert account.starts_at is not None
    assert account.expires_at == add_months(account.starts_at, 2)


def test_the_list_pages_with_a_cursor_and_filters(api, reseller, plan):
    grant(reseller, 20)
    other_plan = PlanFactory.create(reseller=reseller, name="Other")
    made = [create(api, plan, f"l-{n}").json() for n in range(4)]
    on_other = create(api, other_plan, "l-other").json()
    api.post(f"/api/v1/accounts/{made[0]['id']}/suspend", {}, format="json")

    first = api.get("/api/v1/accounts?limit=2").json()
    assert [row["id"] for row in first["data"]] == [on_other["id"], made[3]["id"]]
    assert "password" not in first["data"][0]
    second = api.get("/api/v1/accounts", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [row["id"] for row in second["data"]] == [made[2]["id"], made[1]["id"]]
    third = api.get("/api/v1/accounts", {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [row["id"] for row in third["data"]] == [made[0]["id"]]
    assert third["next_cursor"] is None

    assert ids(api.get("/api/v1/accounts", {"status": "suspended"})) == [made[0]["id"]]
    assert ids(api.get("/api/v1/accounts", {"plan": other_plan.pk})) == [on_other["id"]]
    assert ids(api.get("/api/v1/accounts", {"subscriber": made[1]["subscriber"]})) == [
        made[1]["id"]]
    assert ids(api.get("/api/v1/accounts", {"username": made[2]["username"]})) == [
        made[2]["id"]]
    soon = (timezone.now() + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    later = (timezone.now() + dt.timedelta(days=40)).isoformat().replace("+00:00", "Z")
    assert ids(api.get("/api/v1/accounts", {"expiring_before": soon})) == []
    assert len(ids(api.get("/api/v1/accounts", {"expiring_before": later}))) == 5
    # Each row is the object the retrieve gives, without the password.
    retrieved = api.get(f"/api/v1/accounts/{made[1]['id']}").json()
    listed = next(row for row in second["data"] if row["id"] == made[1]["id"])
    assert listed == {k: v for k, v in retrieved.items() if k != "password"}
    assert listed["expires_at"].endswith("Z")
    assert_error(api.get("/api/v1/accounts?cursor=zzz"), 400, "invalid")


def test_a_test_key_sees_and_spends_only_test_data(api, reseller, plan):
    grant(reseller, 2, livemode=False)
    test_api = api_client(make_key(reseller, mode="test"))
    created = create(test_api, plan, "t-1")
    assert created.json()["status"] == "active" and created.json()["livemode"] is False
    reseller.refresh_from_db()
    assert (reseller.credit_balance, reseller.test_credit_balance) == (0, 1)
    assert ids(api.get("/api/v1/accounts")) == []
    assert_error(api.get(f"/api/v1/accounts/{created.json()['id']}"), 404, "account_not_found")
    assert ids(test_api.get("/api/v1/accounts")) == [created.json()["id"]]


def test_a_payment_over_http_renews_once_per_reference(api, reseller, plan):
    grant(reseller, 3)
    account = create(api, plan, "p-1").json()
    paid = {"account": account["id"], "amount": 999, "currency": "EUR",
            "reference": "WHMCS-INV-1", "paid_at": timezone.now().isoformat()}
    first = api.post("/api/v1/payments", paid, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["renewal"] == "completed"
    retry = api.post("/api/v1/payments", paid, format="json")
    assert retry.status_code == 200 and retry.json()["renewal"] == "already_recorded"
    reseller.refresh_from_db()
    assert reseller.credit_balance == 1


def test_an_idempotency_key_replays_the_first_response(api, reseller, plan):
    grant(reseller, 3)
    headers = {"HTTP_IDEMPOTENCY_KEY": "create-1"}
    body = {"subscriber": {"external_id": "i-1"}, "plan": plan.pk}
    first = api.post("/api/v1/accounts", body, format="json", **headers)
    replay = api.post("/api/v1/accounts", body, format="json", **headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert ServiceAccount.objects.filter(reseller=reseller).count() == 1
    other = api.post("/api/v1/accounts", {**body, "months": 2}, format="json", **headers)
    assert_error(other, 409, "idempotency_key_reused")


def test_the_rate_limit_counts_in_the_locmem_cache(reseller, settings):
    settings.API_RATE_LIMIT = "3/min"
    at = dt.datetime(2026, 3, 10, 12, 0, 10, tzinfo=dt.UTC)
    raw = make_key(reseller)
    api = api_client(raw)
    with time_machine.travel(at, tick=False):
        for _ in range(3):
            assert api.get("/api/v1/ping").status_code == 200
        limited = api.get("/api/v1/ping")
        assert_error(limited, 429, "rate_limited")
        assert limited["Retry-After"] == "50"
        # Another key has its own counter.
        assert api_client(make_key(reseller)).get("/api/v1/ping").status_code == 200
    with time_machine.travel(at + dt.timedelta(minutes=1), tick=False):
        assert api.get("/api/v1/ping").status_code == 200
