"""Accounts over the API: create, list, retrieve and every action, kept per reseller and mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.audit.models import AuditEntry
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create

from ..conftest import SYSTEM, grant
from ..factories import PlanFactory, SubscriberFactory
from .conftest import assert_error, client_for, create_body, make_key

pytestmark = pytest.mark.django_db

ACCOUNT_FIELDS = {"id", "status", "pending_reason", "username", "password", "plan", "subscriber",
                  "starts_at", "expires_at", "auto_renew", "renewal_source",
                  "renewal_period_months", "currency", "livemode"}


def _create(api: APIClient, plan: Plan, **subscriber: Any) -> Any:
    return api.post("/api/v1/accounts", create_body(plan, **subscriber), format="json")


def _account(reseller: Reseller, plan: Plan, *, livemode: bool = True) -> ServiceAccount:
    grant(reseller, 5, livemode=livemode)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan)
    return account


# ---------------------------------------------------------------- create


def test_create_makes_subscriber_and_active_account(api: APIClient, reseller: Reseller,
                                                    plan: Plan) -> None:
    grant(reseller, 5)
    response = _create(api, plan)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["status"] == "active" and body["livemode"] is True and body["password"]
    subscriber = Subscriber.objects.get(pk=body["subscriber"])
    assert (subscriber.external_id, subscriber.email) == ("c-1", "ana@example.net")
    entry = AuditEntry.objects.get(action="account.create", object_id=str(body["id"]))
    assert entry.actor_type == "api_key" and entry.actor_label.startswith("api_key:bp_live_")


def test_create_finds_the_subscriber_by_external_id_then_email(
    api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    grant(reseller, 5)
    by_email = SubscriberFactory.create(reseller=reseller, email="known@example.net")
    by_id = SubscriberFactory.create(reseller=reseller, external_id="w-9", email="x@example.net")
    first = _create(api, plan, external_id="w-9", email="known@example.net").json()
    second = _create(api, plan, email="known@example.net").json()
    assert first["subscriber"] == by_id.pk
    assert second["subscriber"] == by_email.pk
    assert Subscriber.objects.filter(reseller=reseller).count() == 2


def test_create_with_short_credits_is_pending_then_activated_webhook(
    api: APIClient, reseller: Reseller, plan: Plan, receiver: Any,
    django_capture_on_commit_callbacks: Callable[..., Any], eager_celery: None,
) -> None:
    hook = api.post("/api/v1/webhook-endpoints",
                    {"url": receiver.url, "events": ["account.activated"]}, format="json")
    assert hook.status_code == 201, hook.content
    body = _create(api, plan).json()
    assert (body["status"], body["pending_reason"]) == ("pending", "insufficient_credits")
    with django_capture_on_commit_callbacks(execute=True):
        grant(reseller, 3)
    assert ServiceAccount.objects.get(pk=body["id"]).status == "active"
    [payload] = receiver.payloads()
    assert payload["type"] == "account.activated"
    assert payload["data"]["account_id"] == body["id"]


@pytest.mark.parametrize(("body", "param"), [
    ({"plan": 1, "months": 1}, "subscriber"),
    ({"subscriber": {"name": "No ids"}, "plan": 1}, "subscriber.external_id"),
    ({"subscriber": {"email": "not-an-email"}, "plan": 1}, "subscriber.email"),
    ({"subscriber": {"email": "a@example.net"}, "plan": "x"}, "plan"),
    ({"subscriber": {"email": "a@example.net"}, "plan": 1, "months": 0}, "months"),
])
def test_create_validation_errors_are_400_and_write_nothing(
    api: APIClient, body: dict[str, Any], param: str
) -> None:
    error = assert_error(api.post("/api/v1/accounts", body, format="json"), 400)
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert not ServiceAccount.objects.exists() and not Subscriber.objects.exists()


def test_create_months_not_a_plan_period_is_400(api: APIClient, reseller: Reseller) -> None:
    quarterly = PlanFactory.create(reseller=reseller, duration_months=3)
    body = {**create_body(quarterly), "months": 2}
    error = assert_error(api.post("/api/v1/accounts", body, format="json"), 400, "invalid_months")
    assert error["param"] == "months"
    assert not ServiceAccount.objects.exists() and not Subscriber.objects.exists()


def test_create_on_another_resellers_plan_is_404(api: APIClient, other_plan: Plan) -> None:
    assert_error(_create(api, other_plan), 404, "plan_not_found")
    assert not Subscriber.objects.exists()


def test_create_taken_username_is_400(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    grant(reseller, 5)
    body = {**create_body(plan), "username": "taken1"}
    assert api.post("/api/v1/accounts", body, format="json").status_code == 201
    body["subscriber"] = {"email": "other@example.net"}
    assert_error(api.post("/api/v1/accounts", body, format="json"), 400, "username_taken")


# ---------------------------------------------------------------- test and live


def test_test_key_creates_test_data_on_the_test_balance(
    test_api: APIClient, api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    grant(reseller, 5, livemode=False)
    body = _create(test_api, plan).json()
    assert body["livemode"] is False and body["status"] == "active"
    account = ServiceAccount.objects.get(pk=body["id"])
    assert account.livemode is False and account.subscriber.livemode is False
    reseller.refresh_from_db()
    assert (reseller.credit_balance, reseller.test_credit_balance) == (0, 4)
    # The live key never sees it, the test key does.
    assert api.get("/api/v1/accounts").json()["data"] == []
    assert_error(api.get(f"/api/v1/accounts/{body['id']}"), 404)
    assert [a["id"] for a in test_api.get("/api/v1/accounts").json()["data"]] == [body["id"]]
    assert_error(api.get(f"/api/v1/subscribers/{body['subscriber']}"), 404)


def test_live_key_never_sees_test_accounts_in_any_action(
    api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    account = _account(reseller, plan, livemode=False)
    for action in ("renew", "suspend", "terminate", "reset-password"):
        assert_error(api.post(f"/api/v1/accounts/{account.pk}/{action}", {}, format="json"), 404)


# ---------------------------------------------------------------- another reseller


def test_another_resellers_account_is_404_everywhere(
    api: APIClient, other_reseller: Reseller, other_plan: Plan
) -> None:
    theirs = _account(other_reseller, other_plan)
    assert_error(api.get(f"/api/v1/accounts/{theirs.pk}"), 404, "account_not_found")
    for action, body in [("renew", {}), ("suspend", {}), ("unsuspend", {}), ("terminate", {}),
                         ("change-plan", {"plan": other_plan.pk}), ("reset-password", {}),
                         ("auto-renew", {"auto_renew": False})]:
        assert_error(api.post(f"/api/v1/accounts/{theirs.pk}/{action}", body, format="json"),
                     404)
    assert api.get(f"/api/v1/accounts?subscriber={theirs.subscriber_id}").json()["data"] == []
    theirs.refresh_from_db()
    assert theirs.status == "active" and theirs.auto_renew


# ---------------------------------------------------------------- list and retrieve


def test_list_filters_and_cursor(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    other_plan = PlanFactory.create(reseller=reseller, name="Other")
    accounts = [_account(reseller, plan) for _ in range(3)]
    on_other = _account(reseller, other_plan)
    first = api.get("/api/v1/accounts?limit=2").json()
    assert [a["id"] for a in first["data"]] == [on_other.pk, accounts[2].pk]
    assert "password" not in first["data"][0]
    second = api.get(f"/api/v1/accounts?limit=2&cursor={first['next_cursor']}").json()
    assert [a["id"] for a in second["data"]] == [accounts[1].pk, accounts[0].pk]
    assert second["next_cursor"] is None
    assert [a["id"] for a in api.get(f"/api/v1/accounts?plan={other_plan.pk}").json()["data"]] \
        == [on_other.pk]
    sub = accounts[0].subscriber_id
    assert [a["id"] for a in api.get(f"/api/v1/accounts?subscriber={sub}").json()["data"]] \
        == [accounts[0].pk]
    assert api.get("/api/v1/accounts?status=pending").json()["data"] == []
    soon = (timezone.now() + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert api.get("/api/v1/accounts", {"expiring_before": soon}).json()["data"] == []
    later = (timezone.now() + dt.timedelta(days=60)).isoformat().replace("+00:00", "Z")
    assert len(api.get("/api/v1/accounts", {"expiring_before": later}).json()["data"]) == 4


def test_list_rows_are_the_retrieve_objects_and_filter_by_status_and_username(
    api: APIClient, test_api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    whole = _account(reseller, plan)
    ServiceAccount.objects.filter(pk=whole.pk).update(  # whole seconds: no fraction is written
        starts_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 2, 2, 3, 4, 5, tzinfo=dt.UTC))
    fraction = _account(reseller, plan)
    ServiceAccount.objects.filter(pk=fraction.pk).update(
        expires_at=dt.datetime(2027, 3, 4, 5, 6, 7, 80, tzinfo=dt.UTC))
    suspended = _account(reseller, plan)
    ServiceAccount.objects.filter(pk=suspended.pk).update(status="suspended")
    _account(reseller, plan, livemode=False)
    listed = api.get("/api/v1/accounts").json()["data"]
    assert [row["id"] for row in listed] == [suspended.pk, fraction.pk, whole.pk]
    for row in listed:
        retrieved = api.get(f"/api/v1/accounts/{row['id']}").json()
        assert row == {k: v for k, v in retrieved.items() if k != "password"}
    assert listed[2]["starts_at"] == "2026-01-02T03:04:05Z"
    assert listed[1]["expires_at"] == "2027-03-04T05:06:07.000080Z"
    by_status = api.get("/api/v1/accounts?status=suspended").json()["data"]
    assert [row["id"] for row in by_status] == [suspended.pk]
    by_name = api.get("/api/v1/accounts", {"username": whole.username}).json()["data"]
    assert [row["id"] for row in by_name] == [whole.pk]
    assert [row["livemode"] for row in test_api.get("/api/v1/accounts").json()["data"]] == [False]


@pytest.mark.parametrize(("query", "param"), [("status=gone", "status"), ("cursor=zzz", "cursor"), ("plan=99999999999999999999", "plan"),
                                              ("limit=1000", "limit"), ("plan=x", "plan")])
def test_list_bad_filters_are_400(api: APIClient, query: str, param: str) -> None:
    assert assert_error(api.get(f"/api/v1/accounts?{query}"), 400)["param"] == param


def test_list_query_count_does_not_grow_with_rows(
    api: APIClient, reseller: Reseller, plan: Plan,
    django_assert_max_num_queries: Callable[..., Any],
) -> None:
    for _ in range(3):
        _account(reseller, plan)
    with django_assert_max_num_queries(4) as few:
        api.get("/api/v1/accounts")
    for _ in range(7):
        _account(reseller, plan)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/v1/accounts").json()["data"]) == 10


def test_retrieve_includes_the_password(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    grant(reseller, 5)
    created = _create(api, plan).json()
    got = api.get(f"/api/v1/accounts/{created['id']}").json()
    assert got == created


def test_read_scope_cannot_write(reseller: Reseller, plan: Plan) -> None:
    reader = client_for(make_key(reseller, scopes=["accounts:read"]))
    account = _account(reseller, plan)
    assert reader.get(f"/api/v1/accounts/{account.pk}").status_code == 200
    assert_error(_create(reader, plan), 403, "missing_scope")
    assert_error(reader.post(f"/api/v1/accounts/{account.pk}/suspend", {}, format="json"), 403)
    writer = client_for(make_key(reseller, scopes=["accounts:write"]))
    assert_error(writer.get(f"/api/v1/accounts/{account.pk}"), 403, "missing_scope")
    assert_error(writer.get("/api/v1/renewal-queue"), 403, "missing_scope")


# ---------------------------------------------------------------- actions


def test_renew_extends_once_per_payment_reference(api: APIClient, reseller: Reseller,
                                                  plan: Plan) -> None:
    account = _account(reseller, plan)
    expires = account.expires_at
    body = {"months": 1, "payment_reference": "INV-77"}
    first = api.post(f"/api/v1/accounts/{account.pk}/renew", body, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["renewal"] == "completed" and first.json()["password"]
    again = api.post(f"/api/v1/accounts/{account.pk}/renew", body, format="json").json()
    assert again["expires_at"] == first.json()["expires_at"]
    account.refresh_from_db()
    assert expires is not None and account.expires_at is not None
    assert account.expires_at > expires
    reseller.refresh_from_db()
    assert reseller.credit_balance == 3  # 5 - 1 activation - 1 renewal


def test_renew_short_of_credits_is_queued(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    account = _account(reseller, plan)
    body = api.post(f"/api/v1/accounts/{account.pk}/renew", {"months": 12},
                    format="json").json()
    assert body["renewal"] == "queued"


def test_suspend_unsuspend_terminate_and_refused_transitions(
    api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    account = _account(reseller, plan)
    url = f"/api/v1/accounts/{account.pk}"
    assert_error(api.post(f"{url}/unsuspend", {}, format="json"), 409, "invalid_state_transition")
    suspended = api.post(f"{url}/suspend", {"reason": "overdue"}, format="json").json()
    assert suspended["status"] == "suspended"
    assert_error(api.post(f"{url}/suspend", {}, format="json"), 409)
    assert api.post(f"{url}/unsuspend", {}, format="json").json()["status"] == "active"
    assert api.post(f"{url}/terminate", {}, format="json").json()["status"] == "terminated"
    for action in ("suspend", "renew", "terminate", "reset-password"):
        assert_error(api.post(f"{url}/{action}", {}, format="json"), 409)
    assert_error(api.post(f"{url}/suspend", {"reason": 5 * "x" * 200}, format="json"), 400)
    actions = list(AuditEntry.objects.filter(object_id=str(account.pk), actor_type="api_key")
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["account.suspend", "account.unsuspend", "account.terminate"]


def test_change_plan_now_and_at_renewal(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    account = _account(reseller, plan)
    cheaper_later = PlanFactory.create(reseller=reseller, name="Later")
    url = f"/api/v1/accounts/{account.pk}/change-plan"
    response = api.post(url, {"plan": cheaper_later.pk, "when": "renewal"}, format="json")
    assert response.status_code == 200 and response.json()["plan"] == plan.pk
    account.refresh_from_db()
    assert account.next_plan_id == cheaper_later.pk
    assert api.post(url, {"plan": cheaper_later.pk, "when": "now"},
                    format="json").json()["plan"] == cheaper_later.pk
    assert_error(api.post(url, {"plan": cheaper_later.pk}, format="json"), 400, "same_plan")
    assert_error(api.post(url, {"plan": plan.pk, "when": "later"}, format="json"), 400)
    assert_error(api.post(url, {"plan": 999999}, format="json"), 404, "plan_not_found")


def test_reset_password_gives_a_new_one(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    grant(reseller, 5)
    created = _create(api, plan).json()
    reset = api.post(f"/api/v1/accounts/{created['id']}/reset-password").json()
    assert reset["password"] != created["password"]
    assert reset["username"] == created["username"]
    assert api.get(f"/api/v1/accounts/{created['id']}").json()["password"] == reset["password"]


def test_auto_renew_switch(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    account = _account(reseller, plan)
    url = f"/api/v1/accounts/{account.pk}/auto-renew"
    assert api.post(url, {"auto_renew": False}, format="json").json()["auto_renew"] is False
    assert_error(api.post(url, {}, format="json"), 400)
    assert_error(api.post(url, {"auto_renew": "maybe"}, format="json"), 400)


def test_renewal_queue_lists_this_modes_accounts_needing_attention(
    api: APIClient, test_api: APIClient, reseller: Reseller, plan: Plan
) -> None:
    pending_sub = SubscriberFactory.create(reseller=reseller)
    pending, _ = account_create(actor=SYSTEM, subscriber=pending_sub, plan=plan)
    _account(reseller, plan, livemode=False)
    queue = api.get("/api/v1/renewal-queue?within_days=40").json()
    reasons = {item["id"]: item["queue_reason"] for item in queue["data"]}
    assert reasons[pending.pk] == "pending_credits"
    assert all(item["livemode"] for item in queue["data"])
    assert [i["livemode"] for i in test_api.get("/api/v1/renewal-queue?within_days=40")
            .json()["data"]] == [False]
    assert_error(api.get("/api/v1/renewal-queue?within_days=-1"), 400)
