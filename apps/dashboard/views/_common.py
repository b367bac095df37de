"""Helpers the dashboard's pages share: rendering, the safe redirect back, query
parsing, CSV streaming, the email outcome labels."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from apps.notifications.models import OutboxMessage, OutboxStatus

from .. import services as dash_services
from ..access import Context


def _page(request: HttpRequest, ctx: Context, template: str, **context: Any) -> HttpResponse:
    return render(request, template, {"dash": ctx, **context})


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("back") or ""
    safe = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return redirect(target if safe else default)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _subscriber_url(subscriber_id: int) -> str:
    return reverse("dashboard:subscriber", args=[subscriber_id])


def _outcome_label(outcome: dash_services.EmailOutcome) -> str:
    return {
        dash_services.EmailOutcome.SENT: _("sent"),
        dash_services.EmailOutcome.QUEUED: _("queued"),
        dash_services.EmailOutcome.NOT_CONFIGURED: _(
            "not sent: no email delivery is configured"),
        dash_services.EmailOutcome.FAILED: _("failed"),
        dash_services.EmailOutcome.NO_ADDRESS: _("not sent: the subscriber has no email"),
        dash_services.EmailOutcome.DISABLED: _("not sent: this email is turned off"),
        dash_services.EmailOutcome.NOT_SENT: _("not sent"),
    }[outcome]


def _row_label(row: OutboxMessage | None) -> str:
    """The outbox row's state, with the server's error when it failed or is being retried."""
    label = _outcome_label(dash_services.outcome_of(row))
    if row is not None and row.last_error and row.status in (OutboxStatus.FAILED,
                                                             OutboxStatus.QUEUED):
        label = _("%(state)s (%(error)s)") % {"state": label, "error": row.last_error}
    return label
