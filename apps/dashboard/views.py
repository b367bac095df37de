"""The reseller's pages. Each view: the role matrix through `dashboard_view`, reads through
selectors, writes through services with the request's actor."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import StaffMembership, User
from apps.accounts.permissions import Perm
from apps.accounts.selectors import audit_entries, staff_of
from apps.accounts.services import reseller_update, staff_remove, staff_set_role
from apps.api import services as api_services
from apps.api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from apps.core.currencies import format_minor
from apps.core.errors import DomainError
from apps.credits.selectors import LedgerFilter, credits_ledger
from apps.crm import selectors as crm_selectors
from apps.crm import services as crm
from apps.crm.models import AccountFollowUp
from apps.notifications.models import (
    Event,
    NotificationSettings,
    NotificationTemplate,
    OutboxMessage,
    OutboxStatus,
)
from apps.notifications.rendering import default_template_sources, template_check, template_preview
from apps.notifications.selectors import email_delivery_warning, outbox_list, reseller_settings_get
from apps.notifications.services import (
    delivery_configured,
    notification_settings_for,
    notification_settings_update,
    notification_template_save,
)
from apps.payments.selectors import external_payments
from apps.payments.services import account_set_renewal_source
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import (
    AccountEvent,
    AccountStatus,
    PlanStatus,
    ServiceAccount,
    Subscriber,
)
from apps.subscriptions.selectors import QueueReason
from apps.subscriptions.services import subscription_settings_update
from apps.subscriptions.sweep import credits_needed_within

from . import forms
from . import services as dash_services
from .access import Context, dashboard_view
from .models import ResellerSecurity
from .selectors import EXPIRY_WINDOWS, AccountFilter, account_page, accounts_for_export, overview

BULK_LIMIT = 200


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


# ---------------------------------------------------------------- overview and billing


@dashboard_view()
def overview_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    data = overview(ctx.reseller, actor=ctx.actor)
    chart = {
        "ledger": {
            "type": "bar",
            "data": {
                "labels": [row["day"].isoformat() for row in data.ledger_by_day],
                "datasets": [
                    {"label": _("Credits used"),
                     "data": [-(row["spent"] or 0) for row in data.ledger_by_day]},
                    {"label": _("Credits added"),
                     "data": [row["added"] or 0 for row in data.ledger_by_day]},
                ],
            },
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "scales": {"y": {"beginAtZero": True}}},
        },
        "due": {
            "type": "line",
            "data": {
                "labels": [row["day"].isoformat() for row in data.due_by_day],
                "datasets": [{"label": _("Renewals due"),
                              "data": [row["n"] for row in data.due_by_day]}],
            },
            "options": {"responsive": True, "maintainAspectRatio": False,
                        "scales": {"y": {"beginAtZero": True}}},
        },
    }
    reasons = [
        (QueueReason.PENDING_CREDITS, _("Waiting for credits")),
        (QueueReason.GRACE, _("In grace")),
        (QueueReason.SUSPENDED, _("Suspended")),
        (QueueReason.EXPIRING, _("Expiring within 7 days")),
    ]
    return _page(request, ctx, "dashboard/overview.html", data=data, chart=chart,
                 reasons=[(key, label, data.queue_by_reason.get(key, 0)) for key, label in reasons],
                 email_warning=email_delivery_warning(ctx.reseller, actor=ctx.actor),
                 email_configured=delivery_configured(notification_settings_for(ctx.reseller.pk)))


def _ledger_filter(form: forms.LedgerFilterForm) -> LedgerFilter:
    if not form.is_valid():
        return LedgerFilter()
    data = form.cleaned_data

    def at(day: dt.date | None, shift: int = 0) -> dt.datetime | None:
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=shift), dt.time(), tzinfo=dt.UTC)

    return LedgerFilter(kind=data["kind"] or None, date_from=at(data["date_from"]),
                        date_to=at(data["date_to"], 1))


@dashboard_view(Perm.CREDITS_VIEW)
def billing_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.LedgerFilterForm(request.GET or None)
    page = credits_ledger(ctx.reseller, actor=ctx.actor, filters=_ledger_filter(form),
                          page=_int(request.GET.get("page")) or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return _page(request, ctx, "dashboard/billing.html", form=form, page=page,
                 query=query.urlencode(),
                 balance=type(ctx.reseller).objects.get(pk=ctx.reseller.pk).credit_balance,
                 credit_floor=reseller_settings_get(ctx.reseller, actor=ctx.actor).credit_floor,
                 due_7=credits_needed_within(ctx.reseller, now=timezone.now(), days=7),
                 due_30=credits_needed_within(ctx.reseller, now=timezone.now(), days=30))


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@dashboard_view(Perm.CREDITS_VIEW)
def ledger_csv_view(request: HttpRequest, ctx: Context) -> StreamingHttpResponse:
    filters = _ledger_filter(forms.LedgerFilterForm(request.GET or None))
    first = credits_ledger(ctx.reseller, actor=ctx.actor, filters=filters, page_size=500)

    def rows() -> Iterator[list[Any]]:
        yield ["id", "created_at", "kind", "delta", "balance_after", "reference", "reason",
               "account", "actor"]
        entries = first.paginator.object_list
        assert isinstance(entries, QuerySet)  # noqa: S101 (narrowing for the type checker)
        for entry in entries.iterator(chunk_size=1000):
            yield [entry.pk, entry.created_at.isoformat(), entry.kind, entry.delta,
                   entry.balance_after, entry.reference, entry.reason,
                   entry.account.username if entry.account else "", entry.actor_label]

    return _csv_response(rows(), "credit-ledger.csv")


# ---------------------------------------------------------------- subscribers


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
                   a.expires_at.isoformat() if a.expires_at else "", a.auto_renew,
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
    accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor).filter(pk__in=ids)
                    .select_related("subscriber", "plan"))
    if action == "extend":
        if not ctx.can(Perm.ACCOUNT_RENEW):
            raise DjangoPermissionDenied
        done, failed = 0, []
        for account in accounts:
            try:
                subs_services.account_renew(actor=ctx.actor, account=account)
                done += 1
            except DomainError as error:
                failed.append(f"{account.username}: {error.message}")
        messages.success(request, _("%(n)d account(s) extended.") % {"n": done})
        for line in failed:
            messages.error(request, line)
    elif action == "remind":
        if not ctx.can(Perm.SUBSCRIBER_MANAGE):
            raise DjangoPermissionDenied
        counts = dash_services.reminders_send(actor=ctx.actor, reseller=ctx.reseller,
                                              accounts=accounts)
        messages.info(request, _("Reminders: %(counts)s") % {
            "counts": ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))})
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


# ---------------------------------------------------------------- the subscriber page (CRM)


def _subscriber_context(ctx: Context, subscriber: Subscriber, request: HttpRequest,
                        **bound: Any) -> dict[str, Any]:
    accounts = list(subs.account_list(ctx.reseller, actor=ctx.actor,
                                      subscriber_id=subscriber.pk).order_by("id"))
    plans = [(p.pk, p.name) for p in subs.plan_list(ctx.reseller, actor=ctx.actor)]
    events = list(
        AccountEvent.objects.filter(reseller=ctx.reseller, account__subscriber=subscriber)
        .select_related("account").order_by("-created_at", "-id")[:50]
    )
    ledger = None
    if ctx.can(Perm.CREDITS_VIEW):
        ledger = credits_ledger(ctx.reseller, actor=ctx.actor,
                                filters=LedgerFilter(subscriber_id=subscriber.pk), page_size=50)
    query = request.GET.get("iq", "")
    interactions = list(crm_selectors.interactions_of(
        ctx.reseller, actor=ctx.actor, subscriber_id=subscriber.pk, query=query)[:100])
    subscriber_form = bound.get("subscriber_form") or forms.SubscriberForm(initial={
        "name": subscriber.name, "email": subscriber.email, "phone": subscriber.phone,
        "country": subscriber.country, "external_id": subscriber.external_id or "",
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
            (p, format_minor(p.amount, p.currency)) for p in
            external_payments(ctx.reseller, actor=ctx.actor,
                              account_ids=[a.pk for a in accounts])[:50]
        ]
    return {
        "subscriber": subscriber,
        "accounts": accounts,
        "notifications": notifications,
        "payments": payments,
        "renewal_sources": forms.renewal_source_choices(),
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


def _subscriber_url(subscriber_id: int) -> str:
    return reverse("dashboard:subscriber", args=[subscriber_id])


@require_POST
@dashboard_view(Perm.SUBSCRIBER_MANAGE)
def subscriber_edit_view(request: HttpRequest, ctx: Context, subscriber_id: int) -> HttpResponse:
    subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id)
    form = forms.SubscriberForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        data["external_id"] = data["external_id"] or None
        data["country"] = (data["country"] or "").upper()
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


# ---------------------------------------------------------------- account actions


def _account(ctx: Context, account_id: int) -> ServiceAccount:
    return subs.account_get(ctx.reseller, actor=ctx.actor, account_id=account_id, livemode=True)


@require_POST
@dashboard_view(Perm.CREDENTIALS_REVEAL)
def reveal_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    username, password = subs.account_credentials(ctx.reseller, actor=ctx.actor,
                                                  account_id=account_id)
    return render(request, "dashboard/_credentials.html",
                  {"username": username, "password": password})


def _action_done(request: HttpRequest, account: ServiceAccount, message: str) -> HttpResponse:
    messages.success(request, message)
    return _back(request, _subscriber_url(account.subscriber_id))


def _action_failed(request: HttpRequest, account: ServiceAccount,
                   error: DomainError) -> HttpResponse:
    messages.error(request, f"{account.username}: {error.message}")
    return _back(request, _subscriber_url(account.subscriber_id))


@require_POST
@dashboard_view(Perm.ACCOUNT_RENEW)
def renew_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    months = _int(request.POST.get("months"))
    try:
        result = subs_services.account_renew(actor=ctx.actor, account=account, months=months)
    except DomainError as error:
        return _action_failed(request, account, error)
    if request.headers.get("HX-Request"):
        return render(request, "dashboard/_queue_done.html",
                      {"account": result.account, "queued": result.queued})
    if result.queued:
        return _action_done(request, account, _("Not enough credits: the renewal waits for "
                                                "credits and completes when they arrive."))
    return _action_done(request, account, _("Renewed: %(credits)d credits used.")
                        % {"credits": result.credits})


@require_POST
@dashboard_view(Perm.ACCOUNT_CHANGE_PLAN)
def change_plan_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    plans = [(p.pk, p.name) for p in subs.plan_list(ctx.reseller, actor=ctx.actor)]
    form = forms.ChangePlanForm(request.POST, plans=plans)
    if not form.is_valid():
        messages.error(request, _("Choose a plan and when."))
        return _back(request, _subscriber_url(account.subscriber_id))
    try:
        plan = subs.plan_get(ctx.reseller, actor=ctx.actor, plan_id=form.cleaned_data["plan"])
        subs_services.account_change_plan(actor=ctx.actor, account=account, plan=plan,
                                          when=form.cleaned_data["when"])
    except DomainError as error:
        return _action_failed(request, account, error)
    return _action_done(request, account, _("Plan changed."))


def _transition(request: HttpRequest, ctx: Context, account_id: int, name: str) -> HttpResponse:
    account = _account(ctx, account_id)
    service = {
        "suspend": subs_services.account_suspend,
        "unsuspend": subs_services.account_unsuspend,
        "terminate": subs_services.account_terminate,
    }[name]
    try:
        service(actor=ctx.actor, account=account, reason=request.POST.get("reason", "")[:500])
    except DomainError as error:
        return _action_failed(request, account, error)
    labels = {"suspend": _("Suspended."), "unsuspend": _("Unsuspended."),
              "terminate": _("Terminated.")}
    return _action_done(request, account, labels[name])


@require_POST
@dashboard_view(Perm.ACCOUNT_SUSPEND)
def suspend_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    return _transition(request, ctx, account_id, "suspend")


@require_POST
@dashboard_view(Perm.ACCOUNT_SUSPEND)
def unsuspend_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    return _transition(request, ctx, account_id, "unsuspend")


@require_POST
@dashboard_view(Perm.ACCOUNT_TERMINATE)
def terminate_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    return _transition(request, ctx, account_id, "terminate")


@require_POST
@dashboard_view(Perm.ACCOUNT_RESET_PASSWORD)
def reset_password_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    try:
        account, password = subs_services.account_reset_password(actor=ctx.actor,
                                                                 account=account)
    except DomainError as error:
        return _action_failed(request, account, error)
    return render(request, "dashboard/credentials_page.html", {
        "dash": ctx, "account": account, "username": account.username, "password": password,
        "title": _("New password"),
    })


@require_POST
@dashboard_view(Perm.CREDENTIALS_REVEAL)
def welcome_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    row = dash_services.welcome_send(actor=ctx.actor, account=account)
    return _action_done(request, account, _("Welcome email: %(outcome)s")
                        % {"outcome": _row_label(row)})


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


@dashboard_view(Perm.ACCOUNT_CREATE)
def welcome_status_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    """The welcome email's state, polled by the New-account result page while it is queued."""
    account = _account(ctx, account_id)
    return render(request, "dashboard/_welcome_status.html",
                  _welcome_context(account))


def _welcome_context(account: ServiceAccount) -> dict[str, Any]:
    row = dash_services.welcome_row(account) if account.status == AccountStatus.ACTIVE else None
    outcome = dash_services.outcome_of(row) if account.status == AccountStatus.ACTIVE else None
    return {"account": account, "welcome_row": row,
            "welcome": _row_label(row) if outcome else None,
            "welcome_outcome": outcome.value if outcome else "",
            "welcome_pending": outcome == dash_services.EmailOutcome.QUEUED}


@require_POST
@dashboard_view(Perm.ACCOUNT_AUTO_RENEW)
def renewal_source_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    try:
        account_set_renewal_source(actor=ctx.actor, account=account,
                                   source=request.POST.get("renewal_source", ""))
    except DomainError as error:
        return _action_failed(request, account, error)
    return _action_done(request, account, _("Renewal source saved."))


@require_POST
@dashboard_view(Perm.SUBSCRIBER_MANAGE)
def follow_up_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    if "contacted" in request.POST:
        follow_up = crm.follow_up_mark_contacted(
            actor=ctx.actor, account=account, contacted=request.POST["contacted"] == "1")
    else:
        try:
            follow_up = crm.follow_up_note(actor=ctx.actor, account=account,
                                           note=request.POST.get("note", ""))
        except DomainError as error:
            return _action_failed(request, account, error)
    if request.headers.get("HX-Request"):
        return render(request, "dashboard/_follow_up.html",
                      {"account": account, "follow_up": follow_up, "dash": ctx})
    return _back(request, reverse("dashboard:queue"))


# ---------------------------------------------------------------- renewal queue, new account


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


@dashboard_view(Perm.ACCOUNT_CREATE)
def account_new_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    plan_objs = list(subs.plan_list(ctx.reseller, actor=ctx.actor))
    plans = [(p.pk, f"{p.name} ({p.duration_months} m, {p.credit_cost} cr)") for p in plan_objs]
    initial = {"subscriber": request.GET.get("subscriber")}
    form = forms.NewAccountForm(request.POST or None, plans=plans, initial=initial)
    balance = type(ctx.reseller).objects.get(pk=ctx.reseller.pk).credit_balance
    context: dict[str, Any] = {"form": form, "balance": balance}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = subs.plan_get(ctx.reseller, actor=ctx.actor, plan_id=data["plan"])
            cost = subs_services.credits_for(plan, data["months"])
            subscriber = None
            if data["subscriber"]:
                subscriber = subs.subscriber_get(ctx.reseller, actor=ctx.actor,
                                                 subscriber_id=data["subscriber"], livemode=True)
            if request.POST.get("confirm") != "1":
                context.update(preview=True, plan=plan, cost=cost, subscriber=subscriber,
                               after=balance - cost,
                               renewal_source_label=dict(forms.renewal_source_choices())
                               .get(data["renewal_source"] or "complimentary"))
                return _page(request, ctx, "dashboard/account_new.html", **context)
            # A new subscriber and its account are saved together or not at all.
            with transaction.atomic():
                if subscriber is None:
                    subscriber = subs_services.subscriber_create(
                        actor=ctx.actor, reseller=ctx.reseller, name=data["name"],
                        email=data["email"] or "")
                account, password = subs_services.account_create(
                    actor=ctx.actor, subscriber=subscriber, plan=plan, months=data["months"])
                if account.auto_renew:
                    account_set_renewal_source(actor=ctx.actor, account=account,
                                               source=data["renewal_source"] or "complimentary")
        except DomainError as error:
            if error.kind == "not_found" and error.param in ("subscriber", "plan"):
                form.add_error(error.param, error.message)
            else:
                forms.attach_error(form, error)
            return _page(request, ctx, "dashboard/account_new.html", **context)
        # The activation wrote the welcome email to the outbox: show that row's state.
        return _page(request, ctx, "dashboard/account_created.html", password=password,
                     cost=cost, **_welcome_context(account))
    return _page(request, ctx, "dashboard/account_new.html", **context)


# ---------------------------------------------------------------- plans


@dashboard_view()
def plans_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    plans = subs.plan_list(ctx.reseller, actor=ctx.actor, include_archived=True)
    return _page(request, ctx, "dashboard/plans.html", plans=plans,
                 form=forms.PlanForm())


@dashboard_view(Perm.PLAN_MANAGE)
def plan_edit_view(request: HttpRequest, ctx: Context, plan_id: int | None = None) -> HttpResponse:
    plan = subs.plan_get(ctx.reseller, actor=ctx.actor, plan_id=plan_id) if plan_id else None
    currency = ctx.reseller.base_currency
    initial: dict[str, Any] = {}
    if plan is not None:
        price = next((p.amount for p in plan.prices.all() if p.currency == currency), None)
        initial = {"name": plan.name, "tier": plan.tier, "duration_months": plan.duration_months,
                   "credit_cost": plan.credit_cost, "is_trial": plan.is_trial, "price": price}
    form = forms.PlanForm(request.POST or None, initial=initial)
    if plan is not None:
        form.fields["duration_months"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        prices = {currency: data["price"]} if data["price"] is not None else {}
        try:
            if plan is None:
                subs_services.plan_create(
                    actor=ctx.actor, reseller=ctx.reseller, name=data["name"], tier=data["tier"],
                    duration_months=data["duration_months"], credit_cost=data["credit_cost"],
                    is_trial=data["is_trial"], prices=prices)
            else:
                subs_services.plan_update(
                    actor=ctx.actor, plan=plan, name=data["name"], tier=data["tier"],
                    credit_cost=data["credit_cost"], is_trial=data["is_trial"], prices=prices)
            messages.success(request, _("Plan saved."))
            return redirect("dashboard:plans")
        except DomainError as error:
            forms.attach_error(form, error)
    response = _page(request, ctx, "dashboard/plan_form.html", form=form, plan=plan,
                     currency=currency)
    if request.method == "POST":
        response.status_code = 400
    return response


@require_POST
@dashboard_view(Perm.PLAN_MANAGE)
def plan_archive_view(request: HttpRequest, ctx: Context, plan_id: int) -> HttpResponse:
    plan = subs.plan_get(ctx.reseller, actor=ctx.actor, plan_id=plan_id)
    subs_services.plan_archive(actor=ctx.actor, plan=plan,
                               archived=plan.status == PlanStatus.ACTIVE)
    return redirect("dashboard:plans")


# ---------------------------------------------------------------- settings, staff, audit


def _subscription_initial(ctx: Context) -> dict[str, Any]:
    config = reseller_settings_get(ctx.reseller, actor=ctx.actor)
    return {
        "reminder_offsets": ", ".join(str(d) for d in config.reminder_offsets),
        "grace_hours": config.grace_hours, "termination_after_days": config.termination_after_days,
        "renewal_lead_days": config.renewal_lead_days,
        "dunning_reminder_days": config.dunning_reminder_days,
        "dunning_suspend_days": config.dunning_suspend_days,
        "dunning_terminate_days": config.dunning_terminate_days,
        "credit_floor": config.credit_floor,
        "low_credit_recipients": ", ".join(config.low_credit_recipients),
    }


def _notification_initial(config: NotificationSettings) -> dict[str, Any]:
    return {
        "enabled_events": [e for e in Event.values if config.event_enabled(e)],
        "sender_name": config.sender_name, "sender_email": config.sender_email,
        "delivery": config.delivery, "smtp_host": config.smtp_host,
        "smtp_port": config.smtp_port, "smtp_username": config.smtp_username,
        "smtp_security": config.smtp_security, "esp_name": config.esp_name,
    }


def _settings_context(ctx: Context, **bound: Any) -> dict[str, Any]:
    reseller = ctx.reseller
    security = ResellerSecurity.objects.filter(reseller=reseller).first()
    memberships = list(staff_of(reseller, actor=ctx.actor).order_by("user__email"))
    with_2fa = set(
        User.objects.filter(pk__in=[m.user_id for m in memberships],
                            totpdevice__confirmed=True).values_list("pk", flat=True)
    )
    note_config = notification_settings_for(reseller.pk)
    overrides = {t.event: t for t in NotificationTemplate.objects.filter(reseller=reseller)}
    context: dict[str, Any] = {
        "staff": [(m, m.user_id in with_2fa) for m in memberships],
        "invite_form": bound.get("invite_form") or forms.InviteForm(),
        "security_form": forms.SecurityForm(
            initial={"require_2fa": bool(security and security.require_2fa)}),
        "reseller_form": bound.get("reseller_form") or forms.ResellerSettingsForm(initial={
            "timezone": reseller.timezone, "contact_email": reseller.contact_email,
            "reactivation_policy": reseller.reactivation_policy}),
        "subscription_form": bound.get("subscription_form") or forms.SubscriptionSettingsForm(
            initial=_subscription_initial(ctx)),
        "notification_form": bound.get("notification_form") or forms.NotificationSettingsForm(
            initial=_notification_initial(note_config)),
        "smtp_password_set": bool(note_config.smtp_password_encrypted),
        "esp_api_key_set": bool(note_config.esp_api_key_encrypted),
        "template_form": bound.get("template_form") or forms.TemplateForm(),
        "template_preview": bound.get("template_preview"),
        "overrides": sorted(overrides.values(), key=lambda t: t.event),
        "test_email_form": bound.get("test_email_form") or forms.TestEmailForm(
            initial={"to": ctx.user.email}),
        "roles": forms.InviteForm.base_fields["role"].choices,  # type: ignore[attr-defined]
        "email_ok": delivery_configured(note_config),
    }
    if ctx.can(Perm.API_KEYS_MANAGE):
        context.update(
            api_keys=list(ApiKey.objects.filter(reseller=reseller).order_by("-created_at")[:100]),
            endpoints=list(WebhookEndpoint.objects.filter(reseller=reseller, deleted_at=None)
                           .order_by("-created_at")[:50]),
            deliveries=list(WebhookDelivery.objects.filter(reseller=reseller)
                            .select_related("endpoint").order_by("-id")[:30]),
            api_key_form=bound.get("api_key_form") or forms.ApiKeyForm(),
            webhook_form=bound.get("webhook_form") or forms.WebhookForm(),
            shown_once=bound.get("shown_once"),
        )
    return context


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _page(request, ctx, "dashboard/settings.html", **_settings_context(ctx))


def _settings_error(request: HttpRequest, ctx: Context, **bound: Any) -> HttpResponse:
    response = _page(request, ctx, "dashboard/settings.html", **_settings_context(ctx, **bound))
    response.status_code = 400
    return response


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_reseller_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.ResellerSettingsForm(request.POST)
    if form.is_valid():
        try:
            reseller_update(actor=ctx.actor, reseller=ctx.reseller, **form.cleaned_data)
            messages.success(request, _("Settings saved."))
            return redirect("dashboard:settings")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, reseller_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_test_email_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.TestEmailForm(request.POST)
    if not form.is_valid():
        return _settings_error(request, ctx, test_email_form=form)
    try:
        result = dash_services.test_email_send(actor=ctx.actor, reseller=ctx.reseller,
                                               to=form.cleaned_data["to"])
    except DomainError as error:
        forms.attach_error(form, error)
        return _settings_error(request, ctx, test_email_form=form)
    if result.ok:
        messages.success(request, _("Test email sent to %(to)s.") % {"to": form.cleaned_data["to"]})
    else:
        messages.error(request, _("The test email was not sent: %(error)s")
                       % {"error": result.message})
    return redirect(reverse("dashboard:settings") + "#notifications")


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_subscription_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.SubscriptionSettingsForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            subscription_settings_update(actor=ctx.actor, reseller=ctx.reseller, **data)
            messages.success(request, _("Subscription settings saved."))
            return redirect(reverse("dashboard:settings") + "#subscription")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, subscription_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_notifications_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.NotificationSettingsForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        enabled = set(data.pop("enabled_events"))
        data["disabled_events"] = [e for e in Event.values if e != Event.TEST and e not in enabled]
        password = data.pop("smtp_password") or None
        api_key = data.pop("esp_api_key") or None
        try:
            notification_settings_update(actor=ctx.actor, reseller=ctx.reseller,
                                         smtp_password=password, esp_api_key=api_key, **data)
            messages.success(request, _("Notification settings saved."))
            return redirect(reverse("dashboard:settings") + "#notifications")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, notification_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Preview (nothing saved) or save a template; one that does not render is refused."""
    form = forms.TemplateForm(request.POST)
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "save":
                notification_template_save(actor=ctx.actor, reseller=ctx.reseller, **data)
                messages.success(request, _("Email template saved."))
                return redirect(reverse("dashboard:settings") + "#templates")
            preview = template_check(**data)
        except DomainError as error:
            forms.attach_error(form, error)
    response = _page(request, ctx, "dashboard/settings.html",
                     **_settings_context(ctx, template_form=form, template_preview=preview))
    if form.errors:
        response.status_code = 400
    return response


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_default_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Load an event's current email (the reseller's own or the default) into the form."""
    event = request.GET.get("event", "")
    if event not in Event.values:
        raise Http404
    override = NotificationTemplate.objects.filter(reseller=ctx.reseller, event=event).first()
    if override is not None:
        initial = {"event": event, "subject": override.subject, "text": override.text,
                   "html": override.html}
    else:
        subject, text = default_template_sources(event)
        initial = {"event": event, "subject": subject, "text": text, "html": ""}
    return _page(request, ctx, "dashboard/settings.html", **_settings_context(
        ctx, template_form=forms.TemplateForm(initial=initial),
        template_preview=template_preview(ctx.reseller.pk, event)))


# ---------------------------------------------------------------- API keys and webhooks


def _api_error(request: HttpRequest, ctx: Context, **bound: Any) -> HttpResponse:
    return _settings_error(request, ctx, **bound)


def _api_shown(request: HttpRequest, ctx: Context, shown: dict[str, Any]) -> HttpResponse:
    response = _page(request, ctx, "dashboard/settings.html",
                     **_settings_context(ctx, shown_once=shown))
    response["Cache-Control"] = "no-store"
    return response


def _api_key(ctx: Context, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(reseller=ctx.reseller, pk=key_id).first()
    if key is None:
        raise Http404
    return key


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_create_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.ApiKeyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        expires = data["expires_at"]
        try:
            key, raw = api_services.api_key_create(
                actor=ctx.actor, reseller=ctx.reseller, name=data["name"], mode=data["mode"],
                scopes=data["scopes"],
                expires_at=dt.datetime.combine(expires, dt.time(), tzinfo=dt.UTC)
                if expires else None)
        except DomainError as error:
            forms.attach_error(form, error)
        else:
            return _api_shown(request, ctx, {"kind": "key", "name": key.name, "value": raw,
                                             "test": key.mode == "test"})
    return _api_error(request, ctx, api_key_form=form)


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_revoke_view(request: HttpRequest, ctx: Context, key_id: int) -> HttpResponse:
    key = api_services.api_key_revoke(actor=ctx.actor, key=_api_key(ctx, key_id))
    messages.success(request, _("Key %(prefix)s revoked.") % {"prefix": key.prefix})
    return redirect(reverse("dashboard:settings") + "#api")


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def api_key_rotate_view(request: HttpRequest, ctx: Context, key_id: int) -> HttpResponse:
    key, raw = api_services.api_key_rotate(actor=ctx.actor, key=_api_key(ctx, key_id))
    return _api_shown(request, ctx, {"kind": "key", "name": key.name, "value": raw,
                                     "test": key.mode == "test"})


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_create_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.WebhookForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = api_services.webhook_endpoint_create(
                actor=ctx.actor, reseller=ctx.reseller, livemode=data["mode"] == "live",
                url=data["url"], events=data["events"], description=data["description"])
        except DomainError as error:
            forms.attach_error(form, error)
        else:
            return _api_shown(request, ctx, {"kind": "secret", "name": endpoint.url,
                                             "value": secret, "test": not endpoint.livemode})
    return _api_error(request, ctx, webhook_form=form)


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_delete_view(request: HttpRequest, ctx: Context, endpoint_id: int) -> HttpResponse:
    endpoint = WebhookEndpoint.objects.filter(reseller=ctx.reseller, pk=endpoint_id,
                                              deleted_at=None).first()
    if endpoint is None:
        raise Http404
    api_services.webhook_endpoint_delete(actor=ctx.actor, endpoint=endpoint)
    messages.success(request, _("Webhook endpoint deleted."))
    return redirect(reverse("dashboard:settings") + "#api")


@require_POST
@dashboard_view(Perm.API_KEYS_MANAGE)
def webhook_redeliver_view(request: HttpRequest, ctx: Context, delivery_id: int) -> HttpResponse:
    delivery = WebhookDelivery.objects.filter(reseller=ctx.reseller, pk=delivery_id).first()
    if delivery is None:
        raise Http404
    api_services.webhook_redeliver(actor=ctx.actor, delivery=delivery)
    messages.success(request, _("The delivery will be sent again."))
    return redirect(reverse("dashboard:settings") + "#api")


@require_POST
@dashboard_view(Perm.SECURITY_MANAGE)
def settings_security_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    dash_services.security_set_require_2fa(actor=ctx.actor, reseller=ctx.reseller,
                                           required=request.POST.get("require_2fa") == "on")
    messages.success(request, _("Security settings saved."))
    return redirect("dashboard:settings")


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_invite_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.InviteForm(request.POST)
    if form.is_valid():
        try:
            _membership, outcome = dash_services.staff_invite(
                actor=ctx.actor, reseller=ctx.reseller, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], base_url=request.build_absolute_uri("/")[:-1])
            messages.success(request, _("Invitation: %(outcome)s")
                             % {"outcome": _outcome_label(outcome)})
            return redirect("dashboard:settings")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, invite_form=form)


def _member(ctx: Context, user_id: int) -> StaffMembership:
    membership = StaffMembership.objects.filter(reseller=ctx.reseller, user_id=user_id) \
        .select_related("user").first()
    if membership is None:
        raise Http404
    return membership


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_role_view(request: HttpRequest, ctx: Context, user_id: int) -> HttpResponse:
    membership = _member(ctx, user_id)
    try:
        staff_set_role(actor=ctx.actor, reseller=ctx.reseller, user=membership.user,
                       role=request.POST.get("role", ""))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("dashboard:settings")


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_remove_view(request: HttpRequest, ctx: Context, user_id: int) -> HttpResponse:
    membership = _member(ctx, user_id)
    try:
        staff_remove(actor=ctx.actor, reseller=ctx.reseller, user=membership.user)
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("dashboard:settings")


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

