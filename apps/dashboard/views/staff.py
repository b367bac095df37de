"""The staff tab: invitations, roles and removal. It offers only what the services accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import Role, StaffMembership, User
from apps.accounts.permissions import Perm
from apps.accounts.selectors import staff_of
from apps.accounts.services import staff_change_refusal, staff_remove, staff_set_role
from apps.core.errors import DomainError

from .. import forms
from .. import services as dash_services
from ..access import Context, dashboard_view
from ._common import _outcome_label
from .settings import tab_page, tab_redirect


@dataclass(frozen=True)
class StaffRow:
    membership: StaffMembership
    has_2fa: bool
    is_you: bool
    can_remove: bool
    # The roles the actor may give this member, its own first among them.
    roles: list[tuple[str, Any]]

    @property
    def can_change_role(self) -> bool:
        return len(self.roles) > 1


def _role_choices() -> list[tuple[str, Any]]:
    return list(forms.InviteForm.base_fields["role"].choices)  # type: ignore[attr-defined]


def _invite_form(ctx: Context, data: Any = None) -> forms.InviteForm:
    form = forms.InviteForm(data)
    # Only an owner makes an owner: the others are not offered it.
    form.fields["role"].choices = [  # type: ignore[attr-defined]
        (value, label) for value, label in _role_choices()
        if ctx.role == Role.OWNER or value != Role.OWNER]
    return form


def staff_rows(ctx: Context) -> list[StaffRow]:
    memberships = list(staff_of(ctx.reseller, actor=ctx.actor).order_by("user__email"))
    owners = sum(1 for m in memberships if m.role == Role.OWNER)
    with_2fa = set(User.objects.filter(pk__in=[m.user_id for m in memberships],
                                       totpdevice__confirmed=True).values_list("pk", flat=True))

    def allowed(member: StaffMembership, new_role: str | None) -> bool:
        return staff_change_refusal(actor=ctx.actor, actor_role=ctx.role, user_id=member.user_id,
                                    current_role=member.role, new_role=new_role,
                                    owners=owners) is None

    return [
        StaffRow(membership=m, has_2fa=m.user_id in with_2fa, is_you=m.user_id == ctx.user.pk,
                 can_remove=allowed(m, None),
                 roles=[(v, label) for v, label in _role_choices()
                        if v == m.role or allowed(m, v)])
        for m in memberships
    ]


def _staff_page(request: HttpRequest, ctx: Context, *, status: int = 200,
                invite_form: forms.InviteForm | None = None) -> HttpResponse:
    return tab_page(request, ctx, "staff", status=status, staff_rows=staff_rows(ctx),
                    invite_form=invite_form or _invite_form(ctx))


@dashboard_view(Perm.STAFF_MANAGE)
def settings_staff_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _staff_page(request, ctx)


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_invite_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = _invite_form(ctx, request.POST)
    if form.is_valid():
        try:
            _membership, outcome = dash_services.staff_invite(
                actor=ctx.actor, reseller=ctx.reseller, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], base_url=request.build_absolute_uri("/")[:-1])
            messages.success(request, _("Invitation: %(outcome)s")
                             % {"outcome": _outcome_label(outcome)})
            return tab_redirect("staff")
        except DomainError as error:
            forms.attach_error(form, error)
    return _staff_page(request, ctx, status=400, invite_form=form)


def _member(ctx: Context, user_id: int) -> StaffMembership:
    membership = StaffMembership.objects.filter(reseller=ctx.reseller, user_id=user_id) \
        .select_related("user").first()
    if membership is None:
        raise Http404
    return membership


def _refused(error: DomainError) -> str:
    return {
        "self_change": _("You cannot remove yourself or change your own role: ask another "
                         "owner."),
        "last_owner": _("A reseller keeps at least one owner."),
        "owner_only": _("Only an owner may grant or change the owner role."),
    }.get(error.code, error.message)


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_role_view(request: HttpRequest, ctx: Context, user_id: int) -> HttpResponse:
    membership = _member(ctx, user_id)
    try:
        staff_set_role(actor=ctx.actor, reseller=ctx.reseller, user=membership.user,
                       role=request.POST.get("role", ""))
    except DomainError as error:
        messages.error(request, _refused(error))
    else:
        messages.success(request, _("Role changed."))
    return tab_redirect("staff")


@require_POST
@dashboard_view(Perm.STAFF_MANAGE)
def staff_remove_view(request: HttpRequest, ctx: Context, user_id: int) -> HttpResponse:
    membership = _member(ctx, user_id)
    try:
        staff_remove(actor=ctx.actor, reseller=ctx.reseller, user=membership.user)
    except DomainError as error:
        messages.error(request, _refused(error))
    else:
        messages.success(request, _("%(email)s no longer works for you.")
                         % {"email": membership.user.email})
    return tab_redirect("staff")
