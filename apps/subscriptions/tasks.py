"""Celery tasks of the lifecycle: thin wrappers around the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task

from .sweep import sweep

SWEEP_TASK = "subscriptions.sweep"


@shared_task(name=SWEEP_TASK, ignore_result=True)
def sweep_task(now: str | None = None) -> dict[str, Any]:
    """The beat entry's task: one sweep, then delivery of any email that is due."""
    report = sweep(now=dt.datetime.fromisoformat(now) if now else None)
    from apps.notifications.tasks import deliver_due

    deliver_due.delay()
    return report.as_dict()
