"""The schema's extras: how keys authenticate (imported in ApiConfig.ready), and the OpenAPI
links between operations (which response's id feeds which operation), for clients and for
schemathesis' stateful run."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer bp_live_...` (or bp_test_...)."}


ACCOUNT_OPERATIONS = {
    "GetAccount": "accounts_retrieve", "RenewAccount": "accounts_renew_create",
    "SuspendAccount": "accounts_suspend_create", "UnsuspendAccount": "accounts_unsuspend_create",
    "TerminateAccount": "accounts_terminate_create",
    "ChangeAccountPlan": "accounts_change_plan_create",
    "ResetAccountPassword": "accounts_reset_password_create",
    "SetAccountAutoRenew": "accounts_auto_renew_create",
    "SetAccountRenewal": "accounts_renewal_create",
}
ACCOUNT_ACTIONS = [operation for operation in ACCOUNT_OPERATIONS.values()
                   if operation != "accounts_retrieve"]


def _to(operation_id: str, **values: Any) -> dict[str, Any]:
    parameters = {name.replace("__", "."): value for name, value in values.items()
                  if name != "body"}
    link: dict[str, Any] = {"operationId": operation_id}
    if parameters:
        link["parameters"] = parameters
    if "body" in values:
        link["requestBody"] = values["body"]
    return link


def _account_links(account_id: str) -> dict[str, Any]:
    return {
        **{name: _to(operation, path__id=account_id)
           for name, operation in ACCOUNT_OPERATIONS.items()},
        "RecordPayment": _to("payments_create", body={"account": account_id}),
    }


def _endpoint_links(endpoint_id: str) -> dict[str, Any]:
    return {
        "GetWebhookEndpoint": _to("webhook_endpoints_retrieve", path__id=endpoint_id),
        "UpdateWebhookEndpoint": _to("webhook_endpoints_partial_update", path__id=endpoint_id),
        "DeleteWebhookEndpoint": _to("webhook_endpoints_destroy", path__id=endpoint_id),
        "ListWebhookDeliveries": _to("webhook_endpoints_deliveries_retrieve",
                                     path__id=endpoint_id),
    }


def _subscriber_links(subscriber_id: str) -> dict[str, Any]:
    return {
        "GetSubscriber": _to("subscribers_retrieve", path__id=subscriber_id),
        "UpdateSubscriber": _to("subscribers_partial_update", path__id=subscriber_id),
        "ListSubscriberAccounts": _to("accounts_list", query__subscriber=subscriber_id),
        "GetSubscriberWallet": _to("subscribers_wallet_retrieve", path__id=subscriber_id),
        "TopUpSubscriberWallet": _to("subscribers_wallet_top_ups_create",
                                     path__id=subscriber_id),
        "ListSubscriberPayments": _to("payments_list", query__subscriber=subscriber_id),
    }


def _payment_links(payment_id: str) -> dict[str, Any]:
    return {
        "GetPayment": _to("payments_retrieve", path__id=payment_id),
        "RefundPayment": _to("payments_refunds_create", path__id=payment_id),
    }


FIRST = "$response.body#/data/0/id"
# operationId -> {status: {link name: OpenAPI link}}
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "accounts_list": {"200": _account_links(FIRST)},
    "accounts_create": {"201": {
        **_account_links("$response.body#/id"),
        "GetSubscriber": _to("subscribers_retrieve", path__id="$response.body#/subscriber"),
    }},
    "accounts_retrieve": {"200": _account_links("$response.body#/id")},
    **{operation: {"200": _account_links("$response.body#/id")} for operation in ACCOUNT_ACTIONS},
    "renewal_queue_retrieve": {"200": _account_links(FIRST)},
    "plans_retrieve": {"200": {
        "CreateAccount": _to("accounts_create", body={"plan": "$response.body#/data/0/id"}),
    }},
    "payments_create": {
        status: {"GetAccount": _to("accounts_retrieve", path__id="$response.body#/account")}
        for status in ("200", "201")
    },
    "payments_list": {"200": _payment_links(FIRST)},
    "payments_retrieve": {"200": {
        **_payment_links("$response.body#/id"),
        "GetSubscriber": _to("subscribers_retrieve", path__id="$response.body#/subscriber"),
    }},
    "payments_refunds_create": {"201": _payment_links("$response.body#/payment")},
    "subscribers_wallet_top_ups_create": {
        status: {**_payment_links("$response.body#/id"),
                 "GetSubscriberWallet": _to("subscribers_wallet_retrieve",
                                            path__id="$request.path.id")}
        for status in ("200", "201")
    },
    "subscribers_list": {"200": _subscriber_links(FIRST)},
    "subscribers_create": {"201": _subscriber_links("$response.body#/id")},
    "subscribers_retrieve": {"200": _subscriber_links("$response.body#/id")},
    "subscribers_partial_update": {"200": _subscriber_links("$response.body#/id")},
    "webhook_endpoints_list": {"200": _endpoint_links(FIRST)},
    "webhook_endpoints_create": {"201": _endpoint_links("$response.body#/id")},
    "webhook_endpoints_retrieve": {"200": _endpoint_links("$response.body#/id")},
    "webhook_endpoints_partial_update": {"200": _endpoint_links("$response.body#/id")},
    "webhook_endpoints_deliveries_retrieve": {"200": {
        "RedeliverWebhook": _to("webhook_endpoints_deliveries_redeliver_create",
                                path__id="$request.path.id", path__delivery_id=FIRST),
    }},
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, with each operation's links (LINKS) on its responses.

    drf-spectacular has no link declaration of its own; base.doc() makes this the base of
    every documented operation's schema.
    """

    def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        operation = super().get_operation(*args, **kwargs)
        if not operation:
            return operation
        for status, links in LINKS.get(operation["operationId"], {}).items():
            operation["responses"][status]["links"] = links
        return operation
