"""Staff invitations, roles and removal, on the settings page."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import StaffMembership
from apps.accounts.permissions import Perm
from apps.accounts.services import staff_remove, staff_set_role
from apps.core.errors import DomainError

from .. import forms
from .. import services as dash_services
from ..access import Context, dashboard_view
from ._common import _outcome_label
from .settings import _settings_error


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
