"""Every write of the API app, by area: keys, idempotency, and webhooks (endpoints, the
consumer that queues deliveries, delivery). Accounts opened over the API go through
`apps.subscriptions.services.account_open` (the dashboard's create too), and payments
recorded over the API through `apps.payments.services.payment_record`."""

from .api_keys import KEY_FIELDS, api_key_create, api_key_revoke, api_key_rotate, api_key_touch
from .idempotency import (
    IDEMPOTENCY_TTL,
    Claim,
    idempotency_claim,
    idempotency_purge,
    idempotency_response,
    idempotency_store,
)
from .webhooks import (
    ENDPOINT_FIELDS,
    FIRST_RETRY,
    MAX_RETRY_GAP,
    RETRY_WINDOW,
    backoff,
    validate_webhook_url,
    webhook_consume,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_redeliver,
)

__all__ = [
    "ENDPOINT_FIELDS", "FIRST_RETRY", "IDEMPOTENCY_TTL", "KEY_FIELDS", "MAX_RETRY_GAP",
    "RETRY_WINDOW", "Claim",
    "api_key_create", "api_key_revoke", "api_key_rotate", "api_key_touch",
    "backoff", "idempotency_claim", "idempotency_purge", "idempotency_response",
    "idempotency_store", "validate_webhook_url", "webhook_consume",
    "webhook_deliveries_due", "webhook_delivery_attempt", "webhook_endpoint_create",
    "webhook_endpoint_delete", "webhook_endpoint_update", "webhook_redeliver",
]
