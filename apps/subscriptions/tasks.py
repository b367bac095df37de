"""Celery tasks of the lifecycle: thin wrappers around the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import current_app, shared_task

from .sweep import sweep

SWEEP_TASK = "subscriptions.sweep"
DELIVER_DUE_TASK = "notifications.deliver_due"


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_task(now: str | None = None) -> dict[str, Any]:
    """The beat entry's task: one sweep, then delivery of any email that is due."""
    report = sweep(now=dt.datetime.fromisoformat(now) if now else None)
    # By name: the outbox is a layer above the lifecycle, which does not import it.
    current_app.send_task(DELIVER_DUE_TASK)
    return report.as_dict()
