"""Thin Celery wrappers around the webhook services."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="api.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: int) -> str:
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="api.webhook_sweep", ignore_result=True)
def webhook_sweep() -> int:
    """Periodic: queue deliveries that are due (a task lost with a worker comes back here)."""
    ids = services.webhook_deliveries_due()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


@shared_task(name="api.idempotency_purge", ignore_result=True)
def idempotency_purge() -> int:
    return services.idempotency_purge()
