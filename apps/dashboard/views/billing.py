"""The credit ledger page and its CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from apps.accounts.permissions import Perm
from apps.core.money import minor_to_decimal
from apps.credits.selectors import (
    LedgerFilter,
    credits_balances_after,
    credits_ledger,
    credits_ledger_export,
)
from apps.notifications.selectors import reseller_settings_get
from apps.subscriptions.sweep import credits_needed_within

from .. import forms
from ..access import Context, dashboard_view
from ._common import _csv_response, _int, _page


def _ledger_filter(form: forms.LedgerFilterForm, zone: dt.tzinfo) -> LedgerFilter:
    if not form.is_valid():
        return LedgerFilter()
    data = form.cleaned_data

    def at(day: dt.date | None, shift: int = 0) -> dt.datetime | None:
        # The reseller's day: "from 1 March" starts at midnight in its zone, not in UTC.
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=zone)

    return LedgerFilter(kind=data["kind"] or None, date_from=at(data["date_from"]),
                        date_to=at(data["date_to"], 1))


@dashboard_view(Perm.CREDITS_VIEW)
def billing_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.LedgerFilterForm(request.GET or None)
    page = credits_ledger(ctx.reseller, actor=ctx.actor, filters=_ledger_filter(form, ctx.zone),
                          page=_int(request.GET.get("page")) or 1)
    entries = list(page.object_list)
    balances = credits_balances_after(ctx.reseller, actor=ctx.actor, entries=entries)
    query = request.GET.copy()
    query.pop("page", None)
    return _page(request, ctx, "dashboard/billing.html", form=form, page=page,
                 rows=[(entry, balances[entry.pk]) for entry in entries],
                 query=query.urlencode(),
                 balance=type(ctx.reseller).objects.get(pk=ctx.reseller.pk).credit_balance,
                 credit_floor=reseller_settings_get(ctx.reseller, actor=ctx.actor).credit_floor,
                 due_7=credits_needed_within(ctx.reseller, now=timezone.now(), days=7),
                 due_30=credits_needed_within(ctx.reseller, now=timezone.now(), days=30))


@dashboard_view(Perm.CREDITS_VIEW)
def ledger_csv_view(request: HttpRequest, ctx: Context) -> StreamingHttpResponse:
    """Newest first with the page's running balance; times in the reseller's zone, ISO 8601
    with the offset (2026-03-01T16:34:00+01:00), so a spreadsheet reads what the page shows
    and a program still knows the instant."""
    filters = _ledger_filter(forms.LedgerFilterForm(request.GET or None), ctx.zone)
    entries = credits_ledger_export(ctx.reseller, actor=ctx.actor, filters=filters)
    zone = ctx.zone

    def rows() -> Iterator[list[Any]]:
        # Money stays machine-readable: a plain decimal ("45.00", the currency's ISO
        # exponent) beside its currency code, both named so in the header.
        yield ["id", "created_at", "kind", "delta", "balance_after", "reference", "reason",
               "account", "actor", "price_paid_decimal", "price_currency"]
        for entry, balance in entries:
            yield [entry.pk, entry.created_at.astimezone(zone).isoformat(), entry.kind,
                   entry.delta, balance, entry.reference, entry.reason,
                   entry.account.username if entry.account else "", entry.actor_label,
                   "" if entry.price_amount is None
                   else minor_to_decimal(entry.price_amount, entry.price_currency),
                   entry.price_currency]

    return _csv_response(rows(), "credit-ledger.csv")
