"""Payments on the dashboard: the subscriber page's Payments section (wallets, saved cards,
payments and their refunds, the record and refund forms) and the billing tab's payment list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse

from apps.accounts.permissions import Perm
from apps.payments import selectors as pay
from apps.payments.charges import refund_destinations
from apps.payments.models import PAID, Payment, PaymentPurpose, PaymentState
from apps.subscriptions.models import AccountStatus, ServiceAccount, Subscriber

from .. import forms
from ..access import Context, dashboard_view
from ._common import _int, _page

PAGE_SIZE = 50
# What the subscriber page shows at most of each list; the billing tab pages through all.
SHOWN = 50
# The states a person has to look at: coloured as trouble, and first on the billing tab.
ATTENTION = {PaymentState.FAILED, PaymentState.UNKNOWN, PaymentState.REQUIRES_ACTION}


def refund_form(payment: Payment, data: Any = None) -> forms.RefundForm:
    return forms.RefundForm(data, currency=payment.currency,
                            destinations=refund_destinations(payment),
                            can_shorten=bool(payment.account_id and payment.months
                                             and payment.purpose == PaymentPurpose.RENEWAL
                                             and not payment.refunded_amount),
                            initial={"amount": payment.refundable}, prefix=f"refund-{payment.pk}")


def record_form(ctx: Context, accounts: list[ServiceAccount],
                data: Any = None) -> forms.RecordPaymentForm:
    currencies = pay.offered_currencies(ctx.reseller)
    for account in accounts:
        if account.currency not in currencies:
            currencies.append(account.currency)
    choices = [(a.pk, a.username) for a in accounts if a.status != AccountStatus.TERMINATED]
    initial_currency = accounts[0].currency if accounts else ctx.reseller.base_currency
    return forms.RecordPaymentForm(data, currencies=currencies, accounts=choices,
                                   initial={"currency": initial_currency}, prefix="record")


def payments_context(ctx: Context, subscriber: Subscriber, accounts: list[ServiceAccount],
                     **bound: Any) -> dict[str, Any]:
    """What the subscriber page's Payments section shows; nothing for a role that may not
    see payments. `bound` holds a form that came back with errors (record_form, or
    refund_form with refund_payment, the payment's id)."""
    if not ctx.can(Perm.PAYMENTS_VIEW):
        return {"payments_shown": False}
    wallets = pay.wallet_balances(ctx.reseller, subscriber)
    entries = list(pay.wallet_entries(ctx.reseller, subscriber)
                   .select_related("account")[:SHOWN])
    cards = list(pay.saved_cards(ctx.reseller, subscriber.pk, actor=ctx.actor,
                                 include_removed=True))
    payments = list(pay.payment_list(ctx.reseller, actor=ctx.actor, livemode=subscriber.livemode,
                                     subscriber_id=subscriber.pk)[:SHOWN])
    refunds = pay.refunds_by_payment(ctx.reseller, [p.pk for p in payments], actor=ctx.actor)
    may_refund = ctx.can(Perm.PAYMENT_REFUND)
    rows = []
    for payment in payments:
        form = None
        if bound.get("refund_payment") == payment.pk:
            form = bound["refund_form"]  # with the refusal, even if nothing is left now
        elif may_refund and payment.state in PAID and payment.refundable > 0:
            form = refund_form(payment)
        rows.append({"payment": payment, "refunds": refunds.get(payment.pk, []),
                     "attention": payment.state in ATTENTION, "refund_form": form})
    return {
        "payments_shown": True,
        "wallets": wallets,
        "wallet_entries": entries,
        "cards": cards,
        "payment_rows": rows,
        "record_form": (bound.get("record_form") or record_form(ctx, accounts)
                        if ctx.can(Perm.PAYMENT_RECORD) else None),
    }


def _filters(form: forms.PaymentFilterForm, zone: dt.tzinfo) -> dict[str, Any]:
    if not form.is_valid():
        return {"livemode": True}
    data = form.cleaned_data

    def at(day: dt.date | None, shift: int = 0) -> dt.datetime | None:
        # The reseller's day, as the ledger's filter reads it.
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=zone)

    return {"livemode": data["mode"] != "test", "state": data["state"] or None,
            "source": data["source"] or None, "since": at(data["date_from"]),
            "until": at(data["date_to"], 1)}


@dashboard_view(Perm.PAYMENTS_VIEW)
def payments_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """The billing tab's payments, in one mode (the page's Live / Test switch): failed,
    unknown and waiting-for-authentication ones first, then newest first."""
    form = forms.PaymentFilterForm(request.GET or None)
    filters = _filters(form, ctx.zone)
    rows = pay.payment_list(ctx.reseller, actor=ctx.actor, attention_first=True, **filters)
    page = Paginator(rows, PAGE_SIZE).get_page(_int(request.GET.get("page")) or 1)
    query = request.GET.copy()
    query.pop("page", None)
    modes = request.GET.copy()
    modes.pop("page", None)
    modes.pop("mode", None)
    return _page(request, ctx, "dashboard/payments.html", form=form, page=page,
                 rows=[{"payment": p, "attention": p.state in ATTENTION}
                       for p in page.object_list],
                 livemode=filters["livemode"], query=query.urlencode(),
                 mode_query=modes.urlencode())
