"""The audit trail page: human labels, links to what changed, filters, keyset pages."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from apps.accounts.permissions import Perm

from .. import forms
from ..access import Context, dashboard_view
from ..labels import audit_action_choices, audit_action_label, audit_object_label
from ..selectors import AuditFilter, AuditRow, audit_actor_choices, audit_page
from ._common import _page, _subscriber_url
from .settings import TABS

# Object kinds shown on a settings tab rather than a page of their own (tab slugs).
SETTINGS_SECTIONS = {
    "api.apikey": "api",
    "api.webhookendpoint": "api",
    "api.webhookdelivery": "api",
    "accounts.staffmembership": "staff",
    "accounts.user": "staff",
    "accounts.reseller": "reseller",
    "subscriptions.subscriptionsettings": "subscriptions",
    "notifications.notificationsettings": "notifications",
    "notifications.notificationtemplate": "templates",
    "dashboard.resellersecurity": "security",
}
_TABS = {tab.slug: tab for tab in TABS}


def _settings_url(ctx: Context, object_type: str) -> str | None:
    """The tab that shows the object, when the viewer may open it (no link to a 403)."""
    tab = _TABS.get(SETTINGS_SECTIONS.get(object_type, ""))
    if tab is None or not ctx.can(tab.perm):
        return None
    return reverse(f"dashboard:{tab.url_name}")


def _audit_filter(form: forms.AuditFilterForm, zone: dt.tzinfo) -> AuditFilter:
    if not form.is_bound or not form.is_valid():
        return AuditFilter()
    data = form.cleaned_data

    def at(day: dt.date | None, shift: int = 0) -> dt.datetime | None:
        # The reseller's day, midnight to midnight in its zone; "to" includes its day.
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=zone)

    return AuditFilter(actor=data["actor"], action=data["action"],
                       date_from=at(data["date_from"]), date_to=at(data["date_to"], 1))


def _shown(ctx: Context, row: AuditRow) -> dict[str, object]:
    """The row as the page shows it: the action's label, the object's name and its link."""
    entry = row.entry
    kind = audit_object_label(entry.object_type)
    url = None
    if row.subscriber_id is not None:
        url = _subscriber_url(row.subscriber_id)
    elif entry.object_type == "subscriptions.plan" and row.object_name:
        url = reverse("dashboard:plan_edit", args=[int(entry.object_id)])
    elif entry.object_type in SETTINGS_SECTIONS:
        url = _settings_url(ctx, entry.object_type)
    return {"entry": entry, "action": audit_action_label(entry.action),
            "object": f"{kind} {row.object_name or entry.object_id}", "url": url}


@dashboard_view(Perm.AUDIT_VIEW)
def audit_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.AuditFilterForm(
        request.GET or None, actors=audit_actor_choices(ctx.reseller, actor=ctx.actor),
        actions=audit_action_choices())
    page = audit_page(ctx.reseller, actor=ctx.actor, filters=_audit_filter(form, ctx.zone),
                      cursor=request.GET.get("after", "")[:80])
    query = request.GET.copy()
    query.pop("after", None)
    return _page(request, ctx, "dashboard/audit.html", form=form,
                 rows=[_shown(ctx, row) for row in page.rows], next_cursor=page.next_cursor,
                 query=query.urlencode(), paged="after" in request.GET)
