"""Idempotency-Key with Stripe's semantics: replay, reuse refused, two at once have one effect."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.accounts.models import Reseller
from apps.api.models import IdempotencyRecord
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber

from ..conftest import grant
from ..factories import PlanFactory, ResellerFactory
from .conftest import assert_error, client_for, create_body, make_key


@pytest.mark.django_db
def test_same_key_same_body_replays_the_first_response(api: APIClient, reseller: Reseller,
                                                        plan: Plan) -> None:
    grant(reseller, 5)
    first = api.post("/api/v1/accounts", create_body(plan), format="json",
                     HTTP_IDEMPOTENCY_KEY="order-1")
    again = api.post("/api/v1/accounts", create_body(plan), format="json",
                     HTTP_IDEMPOTENCY_KEY="order-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ServiceAccount.objects.count() == 1
    reseller.refresh_from_db()
    assert reseller.credit_balance == 4
    # The kept response holds the password: it is stored sealed, never in clear.
    assert first.json()["password"] not in str(IdempotencyRecord.objects.get().response_body)


@pytest.mark.django_db
def test_a_4xx_is_replayed_too(api: APIClient, reseller: Reseller) -> None:
    archived_later = PlanFactory.create(reseller=reseller)
    body = {**create_body(archived_later), "months": 0}
    first = api.post("/api/v1/accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert_error(first, 400)
    again = api.post("/api/v1/accounts", body, format="json", HTTP_IDEMPOTENCY_KEY="bad-1")
    assert again.status_code == 400 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_same_key_other_body_is_refused(api: APIClient, reseller: Reseller, plan: Plan) -> None:
    grant(reseller, 5)
    api.post("/api/v1/accounts", create_body(plan), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = {**create_body(plan), "months": 2}
    error = assert_error(api.post("/api/v1/accounts", other, format="json",
                                  HTTP_IDEMPOTENCY_KEY="k-2"), 409, "idempotency_key_reused")
    assert error["type"] == "idempotency_error"
    assert ServiceAccount.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "two words", "ñandú", "a" * 256, "k/1", "k\t1"])
def test_a_key_outside_the_documented_pattern_is_a_400_and_does_nothing(
    api: APIClient, reseller: Reseller, plan: Plan, key: str
) -> None:
    grant(reseller, 5)
    error = assert_error(api.post("/api/v1/accounts", create_body(plan), format="json",
                                  HTTP_IDEMPOTENCY_KEY=key), 400, "invalid_idempotency_key")
    assert error["param"] == "Idempotency-Key" and "letters, digits" in error["message"]
    assert not ServiceAccount.objects.exists() and not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_keys_in_the_documented_pattern_are_taken(api: APIClient, reseller: Reseller,
                                                   plan: Plan) -> None:
    grant(reseller, 5)
    for key in ["0b9c1e1e-5a7e-4a53-8a2f-3f1f0d2c9b11", "whmcs-301-Create-20260310",
                "a" * 255, "k.1_x:y"]:
        body = create_body(plan, external_id=key[:100], email="")
        assert api.post("/api/v1/accounts", body, format="json",
                        HTTP_IDEMPOTENCY_KEY=key).status_code == 201


@pytest.mark.django_db
def test_keys_are_per_api_key_and_expire_after_24_hours(reseller: Reseller, plan: Plan,
                                                        time_machine: Any) -> None:
    grant(reseller, 5)
    time_machine.move_to(dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC), tick=False)
    one, two = client_for(make_key(reseller)), client_for(make_key(reseller))
    one.post("/api/v1/accounts", create_body(plan), format="json", HTTP_IDEMPOTENCY_KEY="same")
    body_two = create_body(plan, email="b@example.net")
    assert two.post("/api/v1/accounts", body_two, format="json",
                    HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    time_machine.move_to(dt.datetime(2026, 3, 11, 12, 1, tzinfo=dt.UTC), tick=False)
    fresh = one.post("/api/v1/accounts", {**create_body(plan), "months": 2}, format="json",
                     HTTP_IDEMPOTENCY_KEY="same")
    assert fresh.status_code == 201 and "Idempotent-Replayed" not in fresh
    assert ServiceAccount.objects.count() == 3


@pytest.mark.django_db
def test_a_get_ignores_the_header(api: APIClient) -> None:
    api.get("/api/v1/ping", HTTP_IDEMPOTENCY_KEY="x")
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_have_one_effect() -> None:
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller)
    grant(reseller, 10)
    raw = make_key(reseller)
    barrier = threading.Barrier(4)
    results: list[tuple[int, Any]] = []

    def call() -> None:
        try:
            barrier.wait()
            response = client_for(raw).post("/api/v1/accounts", create_body(plan), format="json",
                                            HTTP_IDEMPOTENCY_KEY="together")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [201] * 4
    assert len({body["id"] for _, body in results}) == 1
    assert ServiceAccount.objects.count() == 1 and Subscriber.objects.count() == 1
    reseller.refresh_from_db()
    assert reseller.credit_balance == 9
