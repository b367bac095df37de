"""schemathesis against the served OpenAPI schema, with every check but one, statelessly and
through the schema's links (the stateful phase).

Left out: positive_data_acceptance. Our 400s for schema-valid data are business rules (a
taken external id, a currency that is not ISO 4217, a webhook host that must resolve).
Bounded (a few examples per operation, a few short scenarios) to stay near a minute.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.accounts.models import Reseller
from apps.subscriptions.models import Plan
from apps.subscriptions.services import account_create
from billing_panel.wsgi import application

from ..conftest import SYSTEM, grant
from ..factories import SubscriberFactory
from .conftest import make_key

EXCLUDED: list[Any] = [positive_data_acceptance]


@pytest.fixture
def bearer(reseller: Reseller, plan: Plan, settings: Any) -> dict[str, str]:
    settings.API_RATE_LIMIT = "100000/s"
    # Webhook hosts that schemathesis makes up must not be looked up in DNS.
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    grant(reseller, 500)
    # Accounts for the lists to hand to the links (the account actions, the payments).
    for _ in range(3):
        account_create(actor=SYSTEM, plan=plan,
                       subscriber=SubscriberFactory.create(reseller=reseller))
    return {"Authorization": f"Bearer {make_key(reseller)}"}


# Loaded at collection: building the schema reads no database. The deployed WSGI
# application, so that every operation runs through the API's own middleware.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(max_examples=6, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case: Any, in_process: None, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=bearer, excluded_checks=EXCLUDED)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Scenarios that follow the schema's links (an account created, then renewed ...)."""

    headers: dict[str, str] = {}

    def setup(self) -> None:
        # Every scenario starts from the same rows: what one scenario wrote is rolled back
        # before the next, so the links hand the same kind of data to the same draws
        # (Hypothesis refuses a generation that depends on what earlier examples left).
        self._savepoint = transaction.savepoint()

    def teardown(self) -> None:
        transaction.savepoint_rollback(self._savepoint)

    def before_call(self, case: Any) -> None:
        # On the case, not as call kwargs: the ignored_auth check re-sends the case without
        # its credentials, and call kwargs would put the valid key back.
        case.headers = {**(case.headers or {}), **self.headers}

    def validate_response(self, response: Any, case: Any,
                          additional_checks: Any = None, **kwargs: Any) -> None:
        # headers: the key is ours, not generated (ignored_auth tells the two apart).
        case.validate_response(response, additional_checks=additional_checks,
                               excluded_checks=EXCLUDED, headers=self.headers,
                               transport_kwargs=kwargs or None, recorder=self.recorder)


@pytest.mark.slow
def test_api_matches_its_schema_through_its_links(in_process: None,
                                                  bearer: dict[str, str]) -> None:
    Workflow.headers = bearer
    Workflow.run(settings=hypothesis.settings(
        max_examples=40, stateful_step_count=6, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))


def test_the_schema_links_operations(client: Any, db: None) -> None:
    paths = client.get("/api/v1/schema/?format=json").json()["paths"]
    created = paths["/api/v1/accounts"]["post"]["responses"]["201"]["links"]
    assert created["RenewAccount"] == {"operationId": "accounts_renew_create",
                                       "parameters": {"path.id": "$response.body#/id"}}
    assert created["RecordPayment"]["requestBody"] == {"account": "$response.body#/id"}
    operation_ids = {operation["operationId"] for item in paths.values()
                     for operation in item.values()}
    targets = {link["operationId"] for item in paths.values() for operation in item.values()
               for response in operation["responses"].values()
               for link in response.get("links", {}).values()}
    assert targets <= operation_ids
    # Every operation that takes an id is reached by a link.
    assert {operation["operationId"] for path, item in paths.items() if "{" in path
            for operation in item.values()} <= targets


def test_a_payment_recorded_twice_is_a_documented_200(
    in_process: None, bearer: dict[str, str], reseller: Reseller, plan: Plan
) -> None:
    account, _ = account_create(actor=SYSTEM, plan=plan,
                                subscriber=SubscriberFactory.create(reseller=reseller))
    body: dict[str, Any] = {"account": account.pk, "amount": 999, "currency": "EUR",
                            "reference": "WHMCS-INV-1", "paid_at": "2026-03-10T11:58:00Z"}
    operation = schema["/api/v1/payments"]["POST"]
    first = operation.Case(body=body).call_and_validate(headers=bearer,
                                                        excluded_checks=EXCLUDED)
    again = operation.Case(body=body).call_and_validate(headers=bearer,
                                                        excluded_checks=EXCLUDED)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["renewal"] == "already_recorded"
    assert again.json()["id"] == first.json()["id"]


def test_schema_and_docs_are_served(client: Any, db: None) -> None:
    schema_response = client.get("/api/v1/schema/?format=json")
    assert schema_response.status_code == 200
    paths = schema_response.json()["paths"]
    for path in ["/api/v1/ping", "/api/v1/accounts", "/api/v1/accounts/{id}/renew",
                 "/api/v1/subscribers/{id}", "/api/v1/plans", "/api/v1/credits/balance",
                 "/api/v1/credits/ledger", "/api/v1/payments", "/api/v1/renewal-queue",
                 "/api/v1/webhook-endpoints", "/api/v1/webhook-endpoints/{id}/deliveries"]:
        assert path in paths
        for operation in paths[path].values():
            assert {"401", "403", "429"} <= set(operation["responses"])
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # Swagger UI's files come from our static files, not from a CDN.
    page = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
