"""Celery tasks of the payments app: thin wrappers around its services."""

from __future__ import annotations

import dataclasses
from typing import Any

from celery import current_app, shared_task

from .charges import payments_janitor

JANITOR_TASK = "payments.janitor"
DELIVER_DUE_TASK = "notifications.deliver_due"


@shared_task(name=JANITOR_TASK, ignore_result=True)
def payments_janitor_task() -> dict[str, Any]:
    """Every five minutes (beat): settle payments and refunds a crash or a timeout left open."""
    report = payments_janitor()
    if report.resolved or report.applied or report.refunds_resolved:
        # By name: the outbox is a layer above payments.
        current_app.send_task(DELIVER_DUE_TASK)
    return dataclasses.asdict(report)
