"""The subscriber page (CRM): contact details, notes, support interactions,
devices, and the accounts' history on one page."""

from __future__ import annotations

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
from apps.payments.selectors import external_payments
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import AccountEvent, Subscriber

from .. import forms
from ..access import Context, dashboard_view
from ._common import _page, _subscriber_url


def _subscriber_context(ctx: Context, subscriber: Subscriber, request: HttpRequest,
                        **bound: Any) -> dict[str, Any]:
    accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor,
                                      subscriber_id=subscriber.pk)
                    .select_related("next_plan").order_by("id"))
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
