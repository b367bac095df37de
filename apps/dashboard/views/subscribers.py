"""The subscriber list, its CSV export, bulk actions and the expiring list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.accounts.permissions import Perm
from apps.crm.models import AccountFollowUp
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import AccountStatus

from .. import services as dash_services
from ..access import Context, dashboard_view
from ..selectors import EXPIRY_WINDOWS, AccountFilter, account_page, accounts_for_export
from ._common import _back, _csv_response, _int, _outcome_label, _page

BULK_LIMIT = 200


def _account_filter(request: HttpRequest, *, default_sort: str = "expires") -> AccountFilter:
    get = request.GET
    expiring = _int(get.get("expiring"))
    auto = get.get("auto_renew", "")
    status = get.get("status", "")
    return AccountFilter(
        q=get.get("q", "")[:100],
        status=status if status in AccountStatus.values else "",
        plan_id=_int(get.get("plan")),
        expiring_days=expiring if expiring in EXPIRY_WINDOWS else None,
        auto_renew={"yes": True, "no": False}.get(auto),
        pending=get.get("pending") == "1",
        sort=get.get("sort") or default_sort,
    )


@dashboard_view()
def subscribers_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    filters = _account_filter(request)
    page = account_page(ctx.reseller, actor=ctx.actor, filters=filters,
                        cursor=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    plans = list(subs.plan_list(ctx.reseller, actor=ctx.actor, include_archived=True))
    template = ("dashboard/_subscriber_rows.html" if request.headers.get("HX-Request")
                else "dashboard/subscribers.html")
    return _page(request, ctx, template, page=page, filters=filters, plans=plans,
                 query=query.urlencode(), statuses=AccountStatus.choices,
                 windows=EXPIRY_WINDOWS)


@dashboard_view(Perm.SUBSCRIBER_MANAGE)
def subscribers_export_view(request: HttpRequest, ctx: Context) -> StreamingHttpResponse:
    accounts = accounts_for_export(ctx.reseller, actor=ctx.actor,
                                   filters=_account_filter(request))

    def rows() -> Iterator[list[Any]]:
        yield ["account_id", "username", "status", "plan", "expires_at", "auto_renew",
               "subscriber", "email", "external_id"]
        for a in accounts.iterator(chunk_size=1000):
            yield [a.pk, a.username, a.status, a.plan.name,
                   a.expires_at.astimezone(ctx.zone).isoformat() if a.expires_at else "",
                   a.auto_renew,
                   a.subscriber.name, a.subscriber.email, a.subscriber.external_id or ""]

    return _csv_response(rows(), "subscribers.csv")


@require_POST
@dashboard_view()
def subscribers_bulk_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    ids = [i for i in (_int(v) for v in request.POST.getlist("account")) if i][:BULK_LIMIT]
    action = request.POST.get("action")
    back = reverse("dashboard:subscribers")
    if not ids:
        messages.error(request, _("Select at least one account."))
        return _back(request, back)
    if action == "extend":
        if not ctx.can(Perm.ACCOUNT_RENEW):
            raise DjangoPermissionDenied
        result = subs_services.account_renew_many(actor=ctx.actor, reseller=ctx.reseller,
                                                  account_ids=ids)
        renewed, queued = len(result.renewed), len(result.queued)
        messages.success(request, ngettext("%(n)d account extended.", "%(n)d accounts extended.",
                                           renewed) % {"n": renewed})
        if queued:
            messages.info(request, ngettext(
                "%(n)d renewal waits for credits and completes when they arrive.",
                "%(n)d renewals wait for credits and complete when they arrive.",
                queued) % {"n": queued})
        for account, error in result.refused:
            messages.error(request, f"{account.username}: {error.message}")
    elif action == "remind":
        if not ctx.can(Perm.SUBSCRIBER_MANAGE):
            raise DjangoPermissionDenied
        accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor).filter(pk__in=ids)
                        .select_related("subscriber", "plan"))
        counts = dash_services.reminders_send(actor=ctx.actor, reseller=ctx.reseller,
                                              accounts=accounts)
        messages.info(request, _("Reminders: %(counts)s") % {
            "counts": ", ".join(f"{_outcome_label(dash_services.EmailOutcome(k))} {v}"
                                for k, v in sorted(counts.items()))})
    else:
        messages.error(request, _("Choose an action."))
    return _back(request, back)


@dashboard_view()
def expiring_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    days = _int(request.GET.get("days"))
    days = days if days in EXPIRY_WINDOWS else 7
    filters = AccountFilter(expiring_days=days, sort="expires")
    page = account_page(ctx.reseller, actor=ctx.actor, filters=filters,
                        cursor=request.GET.get("after", ""))
    follow_ups = {
        f.account_id: f for f in AccountFollowUp.objects.filter(
            reseller=ctx.reseller, account__in=[a.pk for a in page.rows])
    }
    rows = [(a, follow_ups.get(a.pk)) for a in page.rows]
    return _page(request, ctx, "dashboard/expiring.html", rows=rows, page=page, days=days,
                 windows=EXPIRY_WINDOWS)
