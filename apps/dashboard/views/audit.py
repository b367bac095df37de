"""The audit trail page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from apps.accounts.permissions import Perm
from apps.accounts.selectors import audit_entries

from ..access import Context, dashboard_view
from ._common import _int, _page


@dashboard_view(Perm.AUDIT_VIEW)
def audit_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    entries = audit_entries(ctx.reseller, actor=ctx.actor).order_by("-id")
    action = request.GET.get("action", "")[:80]
    if action:
        entries = entries.filter(action__startswith=action)
    before = _int(request.GET.get("before"))
    if before:
        entries = entries.filter(id__lt=before)
    rows = list(entries[:51])
    more = len(rows) > 50
    rows = rows[:50]
    return _page(request, ctx, "dashboard/audit.html", rows=rows, action=action,
                 next_before=rows[-1].pk if more and rows else None)
