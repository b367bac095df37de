"""Sign-in: email and password (django-axes counts failures), then a TOTP code or a recovery code."""

from __future__ import annotations

import base64
import io
import secrets

import qrcode
import qrcode.image.svg
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import User
from apps.audit.services import audit_record
from apps.core.actors import Actor

from .access import SESSION_RESELLER, client_ip, memberships_of
from .forms import SignInForm, TokenForm

RECOVERY_CODES = 10


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def signin(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"].lower(),
            password=form.cleaned_data["password"],
        )
        if user is None:
            form.add_error(None, _("Email or password is wrong."))
        else:
            login(request, user)
            if user_has_device(user, confirmed=True):
                verify = reverse("dashboard:signin_verify")
                return redirect(f"{verify}?{urlencode({'next': _next_url(request)})}")
            return redirect(_next_url(request))
    return render(request, "registration/signin.html", {"form": form, "next": _next_url(request)})


def signin_verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("dashboard:signin")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"].replace(" ", ""))
        if device is None:
            form.add_error("token", _("That code is not valid. Try the current one."))
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(request, "registration/verify.html", {"form": form, "next": _next_url(request)})


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def twofactor_setup(request: HttpRequest) -> HttpResponse:
    """Add a TOTP device: scan, confirm with a code, then keep the recovery codes shown once."""
    if not request.user.is_authenticated:
        return redirect("dashboard:signin")
    user = request.user
    if not isinstance(user, User):
        return redirect("dashboard:signin")
    if user_has_device(user, confirmed=True) and not user.is_verified():  # type: ignore[attr-defined]
        return redirect("dashboard:signin_verify")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].replace(" ", "")):
            device.confirmed = True
            device.save()
            StaticDevice.objects.filter(user=user).delete()
            static = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
            codes = [secrets.token_hex(4) for _ in range(RECOVERY_CODES)]
            for code in codes:
                StaticToken.objects.create(device=static, token=code)
            otp_login(request, device)
            audit_record(actor=Actor.for_user(user, ip=client_ip(request)), reseller_id=None,
                         action="user.2fa_enabled", obj=user)
            return render(request, "registration/recovery_codes.html", {"codes": codes})
        form.add_error("token", _("That code is not valid. Try the current one."))
    # OTP_TOTP_ISSUER names the panel in the authenticator app.
    uri = device.config_url
    secret = base64.b32encode(device.bin_key).decode()
    return render(request, "registration/twofactor_setup.html", {
        "form": form, "qr": _qr_svg(uri), "secret": secret,
    })


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("dashboard:signin")


def switch(request: HttpRequest) -> HttpResponse:
    """Choose which reseller to work for, when a user belongs to several."""
    if not request.user.is_authenticated:
        return redirect("dashboard:signin")
    if not isinstance(request.user, User):
        return redirect("dashboard:signin")
    memberships = memberships_of(request.user)
    if request.method == "POST":
        wanted = request.POST.get("reseller", "")
        for membership in memberships:
            if str(membership.reseller_id) == wanted:
                request.session[SESSION_RESELLER] = membership.reseller_id
                return redirect("dashboard:overview")
    return render(request, "registration/switch.html", {"memberships": memberships})
