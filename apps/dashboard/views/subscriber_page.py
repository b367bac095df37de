"""The subscriber page (CRM): contact details, notes, support interactions,
devices, payments, and the accounts' history on one page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.permissions import Perm
from apps.core.errors import DomainError
from apps.core.money import money_format
from apps.credits.selectors import LedgerFilter, credits_ledger
from apps.crm import selectors as crm_selectors
from apps.crm import services as crm
from apps.notifications.selectors import outbox_list
from apps.payments import charges
from apps.payments import selectors as pay
from apps.payments.selectors import external_payments
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import AccountEvent, Subscriber

from .. import forms
from ..access import Context, dashboard_view
from . import payments as payment_views
from ._common import _page, _subscriber_url


def _subscriber_context(ctx: Context, subscriber: Subscriber, request: HttpRequest,
                        **bound: Any) -> dict[str, Any]:
    accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor,
                                      subscriber_id=subscriber.pk)
                    .select_related("plan", "next_plan").order_by("id"))
    plans = [(p.pk, p.name) for p in subs.plan_list(ctx.reseller, actor=ctx.actor)]
    events = list(
        AccountEvent.objects.filter(reseller=ctx.reseller, account__subscriber=subscriber)
        .select_related("account").order_by("-created_at", "-id")[:50]
    )
    summaries = forms.renewal_source_summaries()
    # A source a collector added in settings reads as its name.
    summaries.update({a.renewal_source: a.renewal_source for a in accounts
                      if a.renewal_source not in summaries})
    ledger = None
    if ctx.can(Perm.CREDITS_VIEW):
        ledger = credits_ledger(ctx.reseller, actor=ctx.actor,
                                filters=LedgerFilter(subscriber_id=subscriber.pk), page_size=50)
    query = request.GET.get("iq", "")
    interactions = list(crm_selectors.interactions_of(
        ctx.reseller, actor=ctx.actor, subscriber_id=subscriber.pk, query=query)[:100])
    subscriber_form = bound.get("subscriber_form") or forms.SubscriberForm(initial={
        "name": subscriber.name, "email": subscriber.email, "phone": subscriber.phone,
        "country": subscriber.country, "language": subscriber.language,
        "external_id": subscriber.external_id or "",
        "marketing_consent": subscriber.marketing_consent,
        "marketing_consent_source": subscriber.marketing_consent_source,
    })
    notifications = list(
        # By the accounts' ids: the (account, -created_at) index, however big the outbox.
        outbox_list(ctx.reseller, actor=ctx.actor)
        .filter(account_id__in=[a.pk for a in accounts])
        .defer("text_encrypted", "html_encrypted")[:50]
    )
    payments = []
    if ctx.can(Perm.CREDITS_VIEW):
        payments = [
            (p, money_format(p.amount, p.currency)) for p in
            external_payments(ctx.reseller, actor=ctx.actor,
                              account_ids=[a.pk for a in accounts])[:50]
        ]
    return {
        "subscriber": subscriber,
        "accounts": accounts,
        "notifications": notifications,
        "payments": payments,
        "renewal_sources": forms.renewal_source_choices(),
        "renewal_summaries": summaries,
        "now": timezone.now(),
        "events": events,
        "ledger": ledger,
        "notes": list(crm_selectors.notes_of(ctx.reseller, actor=ctx.actor,
                                             subscriber_id=subscriber.pk)[:100]),
        "interactions": interactions,
        "interaction_query": query,
        "devices": list(crm_selectors.devices_of(ctx.reseller, actor=ctx.actor,
                                                 subscriber_id=subscriber.pk)[:100]),
        "subscriber_form": subscriber_form,
        "note_form": bound.get("note_form") or forms.NoteForm(),
        "interaction_form": bound.get("interaction_form") or forms.InteractionForm(),
        "device_form": bound.get("device_form") or forms.DeviceForm(),
        "renew_form": forms.RenewForm(),
        "change_plan_form": forms.ChangePlanForm(plans=plans),
        "error_account": bound.get("error_account"),
        **payment_views.payments_context(ctx, subscriber, accounts, **bound),
    }


@dashboard_view()
def subscriber_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    template = ("dashboard/_interactions.html" if request.headers.get("HX-Request")
                else "dashboard/subscriber.html")
    return _page(request, ctx, template, **_subscriber_context(ctx, subscriber, request))


def _rerender(request: HttpRequest, ctx: Context, subscriber: Subscriber,
              **bound: Any) -> HttpResponse:
    response = _page(request, ctx, "dashboard/subscriber.html",
                     **_subscriber_context(ctx, subscriber, request, **bound))
    response.status_code = 400
    return response


@require_POST
@dashboard_view(Perm.SUBSCRIBER_MANAGE)
def subscriber_edit_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    form = forms.SubscriberForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["external_id"] = data["external_id"] or None
        data["country"] = (data["country"] or "").upper()
        if not data.get("language"):
            data.pop("language", None)
        if data["marketing_consent"] == subscriber.marketing_consent:
            data.pop("marketing_consent_source")
        try:
            subs_services.subscriber_update(actor=ctx.actor, subscriber=subscriber, **data)
            messages.success(request, _("Contact details saved."))
            return redirect(_subscriber_url(subscriber.pk))
        except DomainError as error:
            forms.attach_error(form, error)
    return _rerender(request, ctx, subscriber, subscriber_form=form)


@require_POST
@dashboard_view(Perm.CRM_MANAGE)
def note_add_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    form = forms.NoteForm(request.POST)
    if form.is_valid():
        try:
            crm.note_add(actor=ctx.actor, subscriber=subscriber, **form.cleaned_data)
            return redirect(_subscriber_url(subscriber.pk) + "#notes")
        except DomainError as error:
            forms.attach_error(form, error)
    return _rerender(request, ctx, subscriber, note_form=form)


@require_POST
@dashboard_view(Perm.CRM_MANAGE)
def note_edit_view(request: HttpRequest, ctx: Context, note_id: int) -> HttpResponse:
    note = crm_selectors.note_get(ctx.reseller, actor=ctx.actor, note_id=note_id)
    if "toggle_pin" in request.POST:
        crm.note_update(actor=ctx.actor, note=note, pinned=not note.pinned)
        return redirect(_subscriber_url(note.subscriber_id) + "#notes")
    body = request.POST.get("body", "")
    try:
        crm.note_update(actor=ctx.actor, note=note, body=body)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(_subscriber_url(note.subscriber_id) + "#notes")


@require_POST
@dashboard_view(Perm.CRM_MANAGE)
def interaction_add_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    form = forms.InteractionForm(request.POST)
    if form.is_valid():
        try:
            crm.interaction_add(actor=ctx.actor, subscriber=subscriber, **form.cleaned_data)
            return redirect(_subscriber_url(subscriber.pk) + "#support")
        except DomainError as error:
            forms.attach_error(form, error)
    return _rerender(request, ctx, subscriber, interaction_form=form)


@require_POST
@dashboard_view(Perm.CRM_MANAGE)
def interaction_resolve_view(request: HttpRequest, ctx: Context,
                             interaction_id: int) -> HttpResponse:
    interaction = crm_selectors.interaction_get(ctx.reseller, actor=ctx.actor,
                                                interaction_id=interaction_id)
    try:
        crm.interaction_resolve(actor=ctx.actor, interaction=interaction,
                                resolution=request.POST.get("resolution", ""))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(_subscriber_url(interaction.subscriber_id) + "#support")


@require_POST
@dashboard_view(Perm.CRM_MANAGE)
def device_add_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    form = forms.DeviceForm(request.POST)
    if form.is_valid():
        try:
            crm.device_add(actor=ctx.actor, subscriber=subscriber, **form.cleaned_data)
            return redirect(_subscriber_url(subscriber.pk) + "#devices")
        except DomainError as error:
            forms.attach_error(form, error)
    return _rerender(request, ctx, subscriber, device_form=form)


def _payment_error(error: DomainError, *, currency: str = "", left: int | None = None) -> str:
    """A payment service's refusal in the page's language; a code not listed here keeps the
    service's own (English) message."""
    messages_by_code = {
        "invalid_amount": _("Enter an amount of at least the currency's smallest unit."),
        "currency_not_offered": _("The account's plan has no price in %(currency)s.")
        % {"currency": currency},
        "reference_required": _("Give a reference (a receipt or transfer number)."),
        "refund_destination_invalid": _("Only a card payment can be refunded to a card."),
        "payment_not_refundable": _("This payment cannot be refunded in its state."),
        "payment_in_progress": _("A payment for this account is in progress; try again when "
                                 "it has finished."),
        "idempotency_key_reused": _("This form was already sent for another payment; "
                                    "reload the page and try again."),
        "invalid_months": _("Renew for whole periods of the plan."),
    }
    if error.code == "refund_exceeds_payment" and left is not None:
        return _("At most %(amount)s is left to refund.") % {
            "amount": money_format(left, currency)}
    if error.code == "invalid" and error.param == "paid_at":
        return _("The payment date is in the future.")
    if error.code == "required" and error.param == "account":
        return _("Choose the account to renew.")
    return str(messages_by_code.get(error.code, error.message))


def _paid_at(day: dt.date | None, zone: dt.tzinfo) -> dt.datetime | None:
    """The day the money arrived, at the start of that day in the reseller's zone; today
    is now (the service's default), and a later day is refused by the service."""
    if day is None or day == timezone.localdate(timezone=zone):
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@require_POST
@dashboard_view(Perm.PAYMENT_RECORD)
def payment_record_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    """Cash or a bank transfer: into the wallet, or renewing one account now. The form's
    hidden key makes a second submit of the same form record nothing more."""
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber.pk)
                    .select_related("plan", "next_plan").order_by("id"))
    form = payment_views.record_form(ctx, accounts, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        account = next((a for a in accounts if a.pk == data["account"]), None)
        if data["account"] is not None and account is None:
            form.add_error("account", _("Choose one of this subscriber's accounts."))
        else:
            try:
                result = charges.payment_record_manual(
                    actor=ctx.actor, subscriber=subscriber, amount=data["amount"],
                    currency=data["currency"], source=data["source"],
                    reference=data["reference"], idempotency_key=data["idempotency_key"],
                    paid_at=_paid_at(data["paid_at"], ctx.zone), account=account,
                    months=data["months"])
            except DomainError as error:
                form.add_error(error.param if error.param in form.fields else None,
                               _payment_error(error, currency=data["currency"]))
            else:
                amount = money_format(result.payment.amount, result.payment.currency)
                if not result.created:
                    messages.info(request, _("This payment of %(amount)s was already recorded; "
                                             "nothing was recorded again.") % {"amount": amount})
                elif account is not None:
                    messages.success(request, _("Payment of %(amount)s recorded; %(account)s "
                                                "is renewed.") % {"amount": amount,
                                                                  "account": account.username})
                else:
                    messages.success(request, _("Payment of %(amount)s recorded into the "
                                                "wallet.") % {"amount": amount})
                return redirect(_subscriber_url(subscriber.pk) + "#payments")
    return _rerender(request, ctx, subscriber, record_form=form)


@require_POST
@dashboard_view(Perm.PAYMENT_REFUND)
def payment_refund_view(request: HttpRequest, ctx: Context, payment_id: int) -> HttpResponse:
    """Part or all of what is left of a payment, to the card or into the wallet; the same
    form sent twice refunds once."""
    payment = pay.payment_get(ctx.reseller, payment_id, actor=ctx.actor)
    subscriber = payment.subscriber
    form = payment_views.refund_form(payment, request.POST)
    started = timezone.now()
    if form.is_valid():
        data = form.cleaned_data
        try:
            refund = charges.payment_refund(
                actor=ctx.actor, payment=payment, amount=data["amount"],
                idempotency_key=data["idempotency_key"], destination=data["destination"],
                reason=data["reason"], shorten=bool(data.get("shorten")))
        except DomainError as error:
            payment.refresh_from_db()
            form.add_error(error.param if error.param in form.fields else None,
                           _payment_error(error, currency=payment.currency,
                                          left=payment.refundable))
        else:
            amount = money_format(refund.amount, refund.currency)
            if refund.created_at < started:
                messages.info(request, _("This refund of %(amount)s was already made; nothing "
                                         "was refunded again.") % {"amount": amount})
            elif refund.state == "failed":
                messages.error(request, _("The refund of %(amount)s failed: %(error)s") % {
                    "amount": amount, "error": refund.error_message})
            elif refund.state == "succeeded":
                messages.success(request, _("Refund of %(amount)s made.") % {"amount": amount})
            else:
                messages.info(request, _("Refund of %(amount)s sent; Stripe has not confirmed "
                                         "it yet.") % {"amount": amount})
            return redirect(_subscriber_url(subscriber.pk) + "#payments")
    return _rerender(request, ctx, subscriber, refund_form=form, refund_payment=payment.pk)
