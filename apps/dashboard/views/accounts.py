"""Account actions (reveal, renew, activate, change plan, suspend, auto-renewal, reset
password, welcome email, renewal source, follow-up) and the new-account page with its
subscriber search."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.accounts.permissions import Perm
from apps.core.errors import DomainError
from apps.crm import services as crm
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import AccountStatus, Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_set_renewal

from .. import forms
from .. import services as dash_services
from ..access import Context, dashboard_view
from ._common import _back, _int, _page, _row_label, _subscriber_url


def _account(ctx: Context, account_id: int) -> ServiceAccount:
    return subs.account_get(ctx.reseller, actor=ctx.actor, account_id=account_id, livemode=True)


@require_POST
@dashboard_view(Perm.CREDENTIALS_REVEAL)
def reveal_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    username, password = subs_services.account_credentials_reveal(
        actor=ctx.actor, reseller=ctx.reseller, account_id=account_id)
    return render(request, "dashboard/_credentials.html",
                  {"username": username, "password": password})


def _action_done(request: HttpRequest, account: ServiceAccount, message: str) -> HttpResponse:
    # From the renewal queue's row menus (htmx): the outcome replaces the row's status cell.
    if request.headers.get("HX-Request"):
        return render(request, "dashboard/_queue_done.html", {"message": message})
    messages.success(request, message)
    return _back(request, _subscriber_url(account.subscriber_id))


def _action_failed(request: HttpRequest, account: ServiceAccount,
                   error: DomainError | str) -> HttpResponse:
    text = error.message if isinstance(error, DomainError) else error
    if request.headers.get("HX-Request"):
        return render(request, "dashboard/_queue_done.html",
                      {"message": f"{account.username}: {text}", "failed": True})
    messages.error(request, f"{account.username}: {text}")
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
    return _action_done(request, account, ngettext(
        "Renewed: %(credits)d credit used.", "Renewed: %(credits)d credits used.",
        result.credits) % {"credits": result.credits})


@require_POST
@dashboard_view(Perm.ACCOUNT_CREATE)
def activate_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    """Activate a pending account now, ahead of the queue, where the balance covers it."""
    account = _account(ctx, account_id)
    try:
        account = subs_services.account_activate(actor=ctx.actor, account=account)
    except DomainError as error:
        return _action_failed(request, account, error)
    return _action_done(request, account, _("%(username)s is active.")
                        % {"username": account.username})


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
    if name == "terminate":
        form = forms.TerminateForm(request.POST)
        if not form.is_valid():
            return _action_failed(request, account, " ".join(
                str(e) for errors in form.errors.values() for e in errors))
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
@dashboard_view(Perm.ACCOUNT_AUTO_RENEW)
def auto_renew_view(request: HttpRequest, ctx: Context, account_id: int) -> HttpResponse:
    account = _account(ctx, account_id)
    form = forms.AutoRenewForm(request.POST)
    if not form.is_valid():
        return _action_failed(request, account, _("Choose on or off."))
    try:
        account = subs_services.account_set_auto_renew(
            actor=ctx.actor, account=account, auto_renew=form.cleaned_data["auto_renew"])
    except DomainError as error:
        return _action_failed(request, account, error)
    return _action_done(request, account, _("Auto-renewal is on.") if account.auto_renew
                        else _("Auto-renewal is off: the account runs to its expiry."))


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
    """Auto-renewal's source and, when sent, its period in whole periods of the plan."""
    account = _account(ctx, account_id)
    form = forms.RenewalSettingsForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return _action_failed(request, account, str(first))
    data = form.cleaned_data
    plan = account.next_plan or account.plan
    months = (data["renewal_periods"] * plan.duration_months
              if data["renewal_periods"] is not None else None)
    try:
        account_set_renewal(actor=ctx.actor, account=account, period_months=months,
                            source=data["renewal_source"] or None)
    except DomainError as error:
        return _action_failed(request, account, error)
    return _action_done(request, account, _("Renewal settings saved."))


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


@dashboard_view(Perm.ACCOUNT_CREATE)
def account_subscriber_search_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """The new-account page's subscriber search (htmx): matches by name, email or external id."""
    form = forms.SubscriberSearchForm(request.GET)
    found = []
    if form.is_valid():
        found = subs.subscriber_search(ctx.reseller, actor=ctx.actor,
                                       query=form.cleaned_data["q"])
    return _page(request, ctx, "dashboard/_subscriber_choices.html", search_form=form,
                 found=found, query=request.GET.get("q", "").strip())


def _chosen_subscriber(ctx: Context, form: forms.NewAccountForm) -> Subscriber | None:
    """The subscriber the form names, to show by name beside the search (None if not ours)."""
    raw = form["subscriber"].value()
    subscriber_id = _int(str(raw)) if raw not in (None, "") else None
    if subscriber_id is None:
        return None
    try:
        return subs.subscriber_get(ctx.reseller, actor=ctx.actor, subscriber_id=subscriber_id,
                                   livemode=True)
    except DomainError:
        return None


def plan_choice_label(plan: Plan) -> str:
    """The plan as the new-account page offers it: "Monthly · 1 month · 1 credit", and in
    Spanish "Mensual · 1 mes · 1 crédito" (the name is the reseller's own)."""
    months = ngettext("%(months)s month", "%(months)s months", plan.duration_months) \
        % {"months": plan.duration_months}
    credits = ngettext("%(credits)s credit", "%(credits)s credits", plan.credit_cost) \
        % {"credits": plan.credit_cost}
    return f"{plan.name} · {months} · {credits}"


@dashboard_view(Perm.ACCOUNT_CREATE)
def account_new_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    plan_objs = list(subs.plan_list(ctx.reseller, actor=ctx.actor))
    plans = [(p.pk, plan_choice_label(p)) for p in plan_objs]
    initial = {"subscriber": request.GET.get("subscriber")}
    form = forms.NewAccountForm(request.POST or None, plans=plans, initial=initial)
    balance = type(ctx.reseller).objects.get(pk=ctx.reseller.pk).credit_balance
    context: dict[str, Any] = {"form": form, "balance": balance,
                               "chosen": _chosen_subscriber(ctx, form)}
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
                               renewal_source_label=forms.renewal_source_summaries()
                               .get(data["renewal_source"] or "complimentary"))
                return _page(request, ctx, "dashboard/account_new.html", **context)
            # A new subscriber and its account are saved together or not at all.
            account, password = subs_services.account_open(
                actor=ctx.actor, reseller=ctx.reseller, plan_id=plan.pk, months=data["months"],
                subscriber=subscriber.pk if subscriber is not None
                else subs_services.SubscriberDetails(name=data["name"], email=data["email"] or "",
                                                     match_existing=False),
                renewal_source=data["renewal_source"] or "complimentary")
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
