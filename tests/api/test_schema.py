"""schemathesis against the served OpenAPI schema: no 5xx, every response matches the schema.

Bounded (a few examples per operation) so it stays well under two minutes.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from apps.accounts.models import Reseller
from apps.subscriptions.models import Plan
from billing_panel.wsgi import application

from ..conftest import grant
from .conftest import make_key


@pytest.fixture
def bearer(reseller: Reseller, plan: Plan) -> dict[str, str]:
    grant(reseller, 50)
    return {"Authorization": f"Bearer {make_key(reseller)}"}


# Loaded at collection: building the schema reads no database. The deployed WSGI
# application, so that every operation runs through the API's own middleware.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_matches_its_schema(case: Any, in_process: None, bearer: dict[str, str],
                                settings: Any) -> None:
    settings.API_RATE_LIMIT = "100000/s"
    # Acceptance of schema-valid data is left out: business rules (a plan's period, a
    # duplicate external id, a host that must resolve) refuse some schema-valid bodies.
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])


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
