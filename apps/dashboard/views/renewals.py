"""The renewal queue: accounts waiting for credits, in grace, suspended or expiring."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from apps.crm.models import AccountFollowUp
from apps.subscriptions import selectors as subs
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import QueueReason

from ..access import Context, dashboard_view
from ._common import _page


@dashboard_view()
def queue_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    accounts = list(subs.renewal_queue(ctx.reseller, actor=ctx.actor)[:300])
    follow_ups = {f.account_id: f for f in AccountFollowUp.objects.filter(
        reseller=ctx.reseller, account__in=[a.pk for a in accounts])}
    labels = {
        QueueReason.PENDING_CREDITS: _("Waiting for credits"),
        QueueReason.GRACE: _("In grace"),
        QueueReason.SUSPENDED: _("Suspended"),
        QueueReason.EXPIRING: _("Expiring within 7 days"),
    }
    groups: dict[str, list[tuple[ServiceAccount, AccountFollowUp | None]]] = {k: [] for k in labels}
    for account in accounts:
        groups.setdefault(account.queue_reason, []).append(  # type: ignore[attr-defined]
            (account, follow_ups.get(account.pk)))
    return _page(request, ctx, "dashboard/queue.html",
                 groups=[(key, labels.get(key, key), rows) for key, rows in groups.items()])
