"""Who is asking, for which reseller, and may they: every dashboard view goes through here.

The current reseller is the one kept in the session (the switcher changes it);
a user with one membership needs no choice. The role matrix decides; the
services check again.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import user_has_device

from apps.accounts.models import Reseller, StaffMembership, User
from apps.accounts.permissions import MATRIX, Perm, Role
from apps.core.actors import Actor
from apps.core.dates import zone_named
from apps.core.errors import DomainError

from .models import ResellerSecurity

SESSION_RESELLER = "dashboard_reseller_id"


class Context:
    """What a dashboard view knows about the request: user, reseller, role, actor."""

    def __init__(self, request: HttpRequest, user: User, membership: StaffMembership) -> None:
        self.request = request
        self.user = user
        self.reseller: Reseller = membership.reseller
        self.role = membership.role
        self.perms = MATRIX[Role(membership.role)]
        self.actor = Actor.for_user(user, ip=client_ip(request))
        # Every date and time the page shows, and every day a filter names, is in this zone.
        self.zone: dt.tzinfo = zone_named(self.reseller.timezone)

    def can(self, perm: Perm | str) -> bool:
        return Perm(perm) in self.perms


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def memberships_of(user: User) -> list[StaffMembership]:
    return list(
        StaffMembership.objects.filter(user=user, reseller__is_active=True)
        .select_related("reseller")
        .order_by("reseller__name")
    )


def current_membership(request: HttpRequest, user: User) -> StaffMembership | None:
    memberships = memberships_of(user)
    if not memberships:
        return None
    wanted = request.session.get(SESSION_RESELLER)
    for membership in memberships:
        if membership.reseller_id == wanted:
            return membership
    if len(memberships) == 1:
        request.session[SESSION_RESELLER] = memberships[0].reseller_id
        return memberships[0]
    return None


def needs_second_factor(request: HttpRequest, user: User, reseller: Reseller) -> str | None:
    """Where to send a signed-in user before the dashboard: verify, set up, or nowhere."""
    if user_has_device(user, confirmed=True):
        return None if user.is_verified() else "dashboard:signin_verify"  # type: ignore[attr-defined]
    required = ResellerSecurity.objects.filter(reseller=reseller, require_2fa=True).exists()
    return "dashboard:twofactor_setup" if required else None


View = Callable[..., HttpResponseBase]


def dashboard_view(perm: Perm = Perm.VIEW) -> Callable[[View], View]:
    """Sign-in, second factor, current reseller, then the role matrix; 403 when the role lacks perm."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not isinstance(user, User):
                return redirect_to_login(request.get_full_path())
            membership = current_membership(request, user)
            if membership is None:
                return redirect("dashboard:switch")
            step = needs_second_factor(request, user, membership.reseller)
            if step:
                return redirect(step)
            ctx = Context(request, user, membership)
            if not ctx.can(perm):
                raise DjangoPermissionDenied(f"The {ctx.role} role may not do this.")
            request.dash = ctx  # type: ignore[attr-defined]
            # The view renders its page inside the override, so `|date` and form
            # parsing work in the reseller's zone; a streamed CSV is iterated
            # after it ends and converts with ctx.zone itself.
            try:
                with timezone.override(ctx.zone):
                    return view(request, ctx, *args, **kwargs)
            except DomainError as error:
                if error.kind == "not_found":
                    raise Http404(error.message) from None
                if error.kind == "permission":
                    raise DjangoPermissionDenied(error.message) from None
                # A refusal no view expected: say it, change nothing, go back.
                messages.error(request, error.message)
                referer = request.headers.get("Referer") or ""
                if referer and url_has_allowed_host_and_scheme(
                    referer, allowed_hosts={request.get_host()}
                ):
                    return redirect(referer)
                return redirect("dashboard:overview")

        return wrapper

    return decorate
