"""The overview page: credit movements, renewals due, the renewal queue's counts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from apps.notifications.selectors import email_delivery_warning
from apps.notifications.services import delivery_configured, notification_settings_for
from apps.subscriptions.selectors import QueueReason

from ..access import Context, dashboard_view
from ..selectors import overview
from ._common import _page


@dashboard_view()
def overview_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    data = overview(ctx.reseller, actor=ctx.actor)
    chart = {
        "ledger": {
            "type": "bar",
            "data": {
                "labels": [row["day"].isoformat() for row in data.ledger_by_day],
                "datasets": [
                    {"label": _("Credits used"),
                     "data": [-(row["spent"] or 0) for row in data.ledger_by_day]},
                    {"label": _("Credits added"),
                     "data": [row["added"] or 0 for row in data.ledger_by_day]},
                ],
            },
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "scales": {"y": {"beginAtZero": True}}},
        },
        "due": {
            "type": "line",
            "data": {
                "labels": [row["day"].isoformat() for row in data.due_by_day],
                "datasets": [{"label": _("Renewals due"),
                              "data": [row["n"] for row in data.due_by_day]}],
            },
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "scales": {"y": {"beginAtZero": True}}},
        },
    }
    reasons = [
        (QueueReason.PENDING_CREDITS, _("Waiting for credits")),
        (QueueReason.GRACE, _("In grace")),
        (QueueReason.SUSPENDED, _("Suspended")),
        (QueueReason.EXPIRING, _("Expiring within 7 days")),
    ]
    return _page(request, ctx, "dashboard/overview.html", data=data, chart=chart,
                 reasons=[(key, label, data.queue_by_reason.get(key, 0)) for key, label in reasons],
                 email_warning=email_delivery_warning(ctx.reseller, actor=ctx.actor),
                 email_configured=delivery_configured(notification_settings_for(ctx.reseller.pk)))
