"""The emails held while no delivery was set up: what waits, by kind and age, and the
reseller's choice (send all, send the recent ones, discard all or the older ones), each
asked for confirmation first.

The partial (dashboard/_email_backlog.html) goes in the notifications settings; loaded
without its context it fetches itself (email_backlog_view). Posted with htmx, an action
answers with the partial, its result beside the buttons; without htmx, with a message and
a redirect back to the page it came from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.permissions import Perm
from apps.core.errors import DomainError
from apps.notifications.selectors import email_backlog, email_backlog_choice
from apps.notifications.services import (
    BACKLOG_RECENT_DAYS,
    BacklogResult,
    outbox_backlog_discard,
    outbox_backlog_send,
)

from .. import forms
from ..access import Context, dashboard_view
from ._common import _back, _page

PARTIAL = "dashboard/_email_backlog.html"
PAGE = "dashboard/email_backlog.html"


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _back_path(request: HttpRequest) -> str:
    """The page the partial sits in: where a form without htmx comes back to."""
    if _htmx(request):
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        if current.path.startswith("/"):
            return current.path + (f"?{current.query}" if current.query else "")
    return request.POST.get("back") or request.get_full_path()


def _render(request: HttpRequest, ctx: Context, *, status: int = 200,
            now: dt.datetime | None = None, **extra: Any) -> HttpResponse:
    context = {
        "backlog": email_backlog(ctx.reseller, actor=ctx.actor, now=now),
        "backlog_days": BACKLOG_RECENT_DAYS,
        "backlog_back": _back_path(request),
        **extra,
    }
    response = _page(request, ctx, PARTIAL if _htmx(request) else PAGE, **context)
    response.status_code = status
    return response


@require_GET
@dashboard_view(Perm.SETTINGS_MANAGE)
def email_backlog_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """What waits; the partial for htmx, a page of its own otherwise."""
    return _render(request, ctx)


def _result_message(result: BacklogResult) -> str:
    parts = []
    if result.queued:
        parts.append(ngettext("%(n)d email is on its way.", "%(n)d emails are on their way.",
                              result.queued) % {"n": result.queued})
    if result.stale:
        parts.append(ngettext(
            "%(n)d renewal reminder was too old to send and was not sent.",
            "%(n)d renewal reminders were too old to send and were not sent.",
            result.stale) % {"n": result.stale})
    if result.discarded:
        parts.append(ngettext(
            "%(n)d email was discarded: it stays in the outbox and is never sent.",
            "%(n)d emails were discarded: they stay in the outbox and are never sent.",
            result.discarded) % {"n": result.discarded})
    if not parts:
        parts.append(_("No email matched: nothing was done."))
    if result.waiting:
        parts.append(ngettext("%(n)d email is still waiting.", "%(n)d emails are still waiting.",
                              result.waiting) % {"n": result.waiting})
    return " ".join(parts)


def _act(request: HttpRequest, ctx: Context, action: str) -> HttpResponse:
    """Ask first (the counts the action would take), then do it once confirmed."""
    form = forms.EmailBacklogForm(request.POST)
    scopes = {"send": ("all", "recent"), "discard": ("all", "older")}[action]
    if not form.is_valid() or form.cleaned_data["scope"] not in scopes:
        if form.is_valid():
            form.add_error("scope", _("Choose what to do."))
        return _render(request, ctx, status=400, backlog_form=form, backlog_action=action)
    data = form.cleaned_data
    days = data["days"] if data["scope"] != "all" else None
    now = timezone.now()
    if not data["confirm"]:
        as_of = now
        choice = email_backlog_choice(
            ctx.reseller, actor=ctx.actor, as_of=as_of, now=now,
            newer_than_days=days if action == "send" else None,
            older_than_days=days if action == "discard" else None)
        return _render(request, ctx, now=now, backlog_confirm={
            "action": action, "scope": data["scope"], "days": days,
            "as_of": as_of.isoformat(), "choice": choice})
    try:
        if action == "send":
            result = outbox_backlog_send(actor=ctx.actor, reseller=ctx.reseller,
                                         within_days=days, as_of=data["as_of"] or now, now=now)
        else:
            result = outbox_backlog_discard(actor=ctx.actor, reseller=ctx.reseller,
                                            older_than_days=days, as_of=data["as_of"] or now,
                                            now=now)
    except DomainError as error:
        if _htmx(request):
            return _render(request, ctx, status=400, backlog_error=error.message)
        messages.error(request, error.message)
        return _back(request, reverse("dashboard:email_backlog"))
    text = _result_message(result)
    if _htmx(request):
        return _render(request, ctx, backlog_result=text)
    messages.success(request, text)
    return _back(request, reverse("dashboard:email_backlog"))


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def email_backlog_send_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Send every waiting email (scope=all) or those of the last `days` days (scope=recent)."""
    return _act(request, ctx, "send")


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def email_backlog_discard_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Discard every waiting email (scope=all) or those older than `days` days (scope=older)."""
    return _act(request, ctx, "discard")

