"""The overview page: credit movements, renewals due, the renewal queue's counts."""

from __future__ import annotations

import math
import statistics
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.notifications.selectors import email_delivery_warning
from apps.notifications.services import delivery_configured, notification_settings_for

from ..access import Context, dashboard_view
from ..selectors import Overview, overview
from ._common import _page
from .renewals import QUEUE_REASONS

# The scale of the credits chart stops at this many times the 90th percentile of the
# days that moved, so that one large purchase does not flatten every other day.
ROBUST_HEADROOM = 1.5


# An axis that stops at 1,200 reads better than one that stops at 1,001.
NICE_STEPS = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)


def nice_ceiling(value: float) -> int:
    """The smallest whole number at or above `value` that is a nice step times a power of 10."""
    if value <= 10:
        return max(1, math.ceil(value))
    magnitude = 10 ** math.floor(math.log10(value))
    return next(int(step * magnitude) for step in NICE_STEPS if step * magnitude >= value)


def robust_max(values: list[int]) -> int | None:
    """Where the y axis should stop, or None when the tallest bar is not an outlier.

    1.5 times the 90th percentile (inclusive method) of the non-zero values, rounded up to
    a nice whole number; None when fewer than two days moved or nothing lies above it.
    """
    moved = [v for v in values if v > 0]
    if len(moved) < 2:
        return None
    p90 = statistics.quantiles(moved, n=10, method="inclusive")[-1]
    cap = nice_ceiling(p90 * ROBUST_HEADROOM)
    return cap if max(moved) > cap else None


def _bar_options(y_max: int | None) -> dict[str, Any]:
    y: dict[str, Any] = {"beginAtZero": True, "ticks": {"precision": 0}}
    if y_max is not None:
        y["max"] = y_max
    return {
        "responsive": True, "maintainAspectRatio": False,
        # Room above the plot for the true value of a bar cut off at the top (panel.js).
        "layout": {"padding": {"top": 30}},
        "scales": {"x": {"ticks": {"autoSkip": True, "maxRotation": 0}}, "y": y},
    }


def _day_label(day: Any) -> str:
    return date_format(day, "j M")


def charts(data: Overview) -> dict[str, Any]:
    """The Chart.js specs the overview's canvases read from their json_script."""
    used = [row.used for row in data.ledger_by_day]
    added = [row.added for row in data.ledger_by_day]
    ledger_max = robust_max(used + added)
    return {
        "ledger_max": ledger_max,
        "ledger": {
            "type": "bar",
            "data": {
                "labels": [_day_label(row.day) for row in data.ledger_by_day],
                "datasets": [
                    {"label": _("Credits used"), "data": used},
                    {"label": _("Credits added"), "data": added},
                ],
            },
            "options": _bar_options(ledger_max),
        },
        "due": {
            "type": "bar",
            "data": {
                "labels": [_day_label(row.day) for row in data.due_by_day],
                "datasets": [{"label": _("Renewals due"),
                              "data": [row.n for row in data.due_by_day]}],
            },
            "options": _bar_options(None),
        },
    }


@dashboard_view()
def overview_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    data = overview(ctx.reseller, actor=ctx.actor)
    return _page(request, ctx, "dashboard/overview.html", data=data, chart=charts(data),
                 credits_used=sum(row.used for row in data.ledger_by_day),
                 credits_added=sum(row.added for row in data.ledger_by_day),
                 renewals_due=sum(row.n for row in data.due_by_day),
                 reasons=[(key, label, data.queue_by_reason.get(key, 0)) for key, label in QUEUE_REASONS],
                 email_warning=email_delivery_warning(ctx.reseller, actor=ctx.actor),
                 email_configured=delivery_configured(notification_settings_for(ctx.reseller.pk)))
