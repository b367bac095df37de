"""Celery tasks delivering the outbox: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import outbox_deliver, outbox_deliver_due


@shared_task(name="notifications.deliver_message", ignore_result=True)
def deliver_message(message_id: int) -> str | None:
    return outbox_deliver(message_id=message_id)


@shared_task(name="notifications.deliver_due", ignore_result=True)
def deliver_due() -> int:
    return outbox_deliver_due().sent
