"""The plan list and the plan form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.permissions import Perm
from apps.core.errors import DomainError
from apps.subscriptions import selectors as subs
from apps.subscriptions import services as subs_services
from apps.subscriptions.models import PlanStatus

from .. import forms
from ..access import Context, dashboard_view
from ._common import _page


@dashboard_view()
def plans_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    plans = subs.plan_list(ctx.reseller, actor=ctx.actor, include_archived=True)
    return _page(request, ctx, "dashboard/plans.html", plans=plans)


@dashboard_view(Perm.PLAN_MANAGE)
def plan_edit_view(request: HttpRequest, ctx: Context, plan_id: int | None = None) -> HttpResponse:
    plan = subs.plan_get(ctx.reseller, actor=ctx.actor, plan_id=plan_id) if plan_id else None
    initial: dict[str, Any] = {}
    prices: dict[str, int] = {}
    if plan is not None:
        prices = {p.currency: p.amount for p in plan.prices.all()}
        initial = {"name": plan.name, "tier": plan.tier, "duration_months": plan.duration_months,
                   "credit_cost": plan.credit_cost, "is_trial": plan.is_trial}
    form = forms.PlanForm(request.POST or None, initial=initial,
                          base_currency=ctx.reseller.base_currency, prices=prices)
    if plan is not None:
        form.fields["duration_months"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if plan is None:
                subs_services.plan_create(
                    actor=ctx.actor, reseller=ctx.reseller, name=data["name"], tier=data["tier"],
                    duration_months=data["duration_months"], credit_cost=data["credit_cost"],
                    is_trial=data["is_trial"], prices=data["prices"])
            else:
                subs_services.plan_update(
                    actor=ctx.actor, plan=plan, name=data["name"], tier=data["tier"],
                    credit_cost=data["credit_cost"], is_trial=data["is_trial"],
                    prices=data["prices"])
            messages.success(request, _("Plan saved."))
            return redirect("dashboard:plans")
        except DomainError as error:
            forms.attach_error(form, error)
    response = _page(request, ctx, "dashboard/plan_form.html", form=form, plan=plan,
                     base_currency=ctx.reseller.base_currency)
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
