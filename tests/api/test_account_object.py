"""The Account object is one shape wherever a client meets it: the list, the detail, every
action, the webhook payloads and the schema, timestamps to the microsecond included."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.api import serializers as s
from apps.api.models import WebhookDelivery
from apps.api.objects import ACCOUNT_FIELDS, account_object, timestamp
from apps.subscriptions.models import Plan, ServiceAccount

from ..conftest import grant
from .conftest import Receiver, create_body

pytestmark = pytest.mark.django_db


def _without_password(body: dict[str, Any]) -> dict[str, Any]:
    assert body["password"]
    return {k: v for k, v in body.items() if k != "password"}


def _listed(api: APIClient, account_id: int) -> dict[str, Any]:
    rows = api.get("/api/v1/accounts", {"limit": 100}).json()["data"]
    return next(row for row in rows if row["id"] == account_id)


def test_a_webhooks_account_is_the_apis_account_to_the_microsecond(
    api: APIClient, reseller: Reseller, plan: Plan, receiver: Receiver,
    django_capture_on_commit_callbacks: Callable[..., Any], eager_celery: None,
) -> None:
    hooks = api.post("/api/v1/webhook-endpoints",
                     {"url": receiver.url, "events": ["account.activated", "account.renewed"]},
                     format="json")
    assert hooks.status_code == 201
    grant(reseller, 5)
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post("/api/v1/accounts", create_body(plan), format="json").json()
    account_id = created["id"]
    # Timestamps from now(): microseconds that a millisecond encoder would lose.
    assert created["starts_at"].count(".") == 1 and len(created["starts_at"]) == 27
    activated = WebhookDelivery.objects.get(event_type="account.activated")
    assert activated.payload["data"]["account"] == _without_password(created)

    with django_capture_on_commit_callbacks(execute=True):
        renewed = api.post(f"/api/v1/accounts/{account_id}/renew", {"months": 1},
                           format="json").json()
    retrieved = api.get(f"/api/v1/accounts/{account_id}").json()
    listed = _listed(api, account_id)
    stored = WebhookDelivery.objects.get(event_type="account.renewed").payload
    sent = [p for p in receiver.payloads() if p["type"] == "account.renewed"]
    assert len(sent) == 1
    assert stored["data"]["account"] == sent[0]["data"]["account"] == listed \
        == _without_password(retrieved)
    assert {k: v for k, v in renewed.items() if k != "renewal"} == retrieved
    assert listed["expires_at"] != created["expires_at"]
    assert "password" not in json.dumps(stored)


@pytest.mark.parametrize(("starts_at", "expires_at"), [
    (dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
     dt.datetime(2026, 2, 2, 3, 4, 5, 80, tzinfo=dt.UTC)),
    (dt.datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=dt.UTC),
     dt.datetime(2027, 12, 31, 23, 59, 59, 100000, tzinfo=dt.UTC)),
    (None, None),
])
def test_the_lists_sql_writes_the_account_object(
    api: APIClient, reseller: Reseller, plan: Plan, active_account: ServiceAccount,
    starts_at: dt.datetime | None, expires_at: dt.datetime | None,
) -> None:
    ServiceAccount.objects.filter(pk=active_account.pk).update(
        starts_at=starts_at, expires_at=expires_at, status="pending",
        pending_reason="insufficient_credits")
    active_account.refresh_from_db()
    expected = account_object(active_account)
    assert _listed(api, active_account.pk) == expected
    assert _without_password(api.get(f"/api/v1/accounts/{active_account.pk}").json()) \
        == expected
    assert expected["starts_at"] == timestamp(starts_at)


def test_timestamps_are_drfs_format() -> None:
    field = s.AccountOut().fields["expires_at"]
    for value in [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
                  dt.datetime(2026, 1, 2, 3, 4, 5, 80, tzinfo=dt.UTC),
                  dt.datetime(2026, 1, 2, 4, 4, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))]:
        assert timestamp(value) == field.to_representation(value)


def test_the_schema_documents_the_account_object(client: Any) -> None:
    names = [name for name, _, _ in ACCOUNT_FIELDS]
    assert list(s.AccountOut().fields) == names
    assert list(s.AccountWithCredentialsOut().fields) == [*names, "password"]
    components = client.get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    account, with_credentials = components["AccountOut"], components["AccountWithCredentialsOut"]
    assert list(account["properties"]) == names
    assert set(account["required"]) == set(names)
    assert set(with_credentials["required"]) == {*names, "password"}
