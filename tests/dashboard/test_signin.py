"""Sign-in: password, then TOTP or a recovery code; lockout; required 2FA; reseller switcher."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.audit.models import AuditEntry
from apps.dashboard.access import SESSION_RESELLER
from apps.dashboard.services import security_set_require_2fa
from tests.conftest import SYSTEM
from tests.factories import MembershipFactory, ResellerFactory

from .conftest import member

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post(reverse("dashboard:signin"), {"username": email, "password": password})


def test_password_then_totp_code_signs_in(world, settings):
    # django-otp slows down guessing after a wrong code; this test wants no wait.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = member(world.reseller, "owner")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    response = sign_in(client, user.email)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:signin_verify"))
    # Signed in with the password only: the dashboard still asks for the code.
    assert client.get(reverse("dashboard:overview"))["Location"] == reverse(
        "dashboard:signin_verify")
    wrong = client.post(reverse("dashboard:signin_verify"), {"token": "000000"})
    assert "not valid" in wrong.content.decode()
    ok = client.post(reverse("dashboard:signin_verify"), {"token": code(device)})
    assert ok.status_code == 302
    assert client.get(reverse("dashboard:overview")).status_code == 200


def test_wrong_password_shows_an_error_and_keeps_the_email(world):
    user = member(world.reseller, "owner")
    response = sign_in(Client(), user.email, "wrong")
    page = response.content.decode()
    assert "Email or password is wrong." in page
    assert f'value="{user.email}"' in page


def test_repeated_failures_lock_out_even_the_right_password(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = member(world.reseller, "owner")
    client = Client()
    for _ in range(3):
        sign_in(client, user.email, "wrong")
    response = sign_in(client, user.email)
    assert response.status_code in (403, 429)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_recovery_code_signs_in_once(world, settings):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    user = member(world.reseller, "owner")
    client = Client()
    client.force_login(user)
    setup = client.get(reverse("dashboard:twofactor_setup"))
    assert setup.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page = client.post(reverse("dashboard:twofactor_setup"), {"token": code(device)})
    codes = [t.token for t in StaticToken.objects.filter(device__user=user)]
    assert len(codes) == 10
    assert all(c in page.content.decode() for c in codes)
    assert AuditEntry.objects.filter(action="user.2fa_enabled").count() == 1

    for attempt in range(2):
        fresh = Client()
        sign_in(fresh, user.email)
        response = fresh.post(reverse("dashboard:signin_verify"), {"token": codes[0]})
        if attempt == 0:
            assert response.status_code == 302
        else:
            assert "not valid" in response.content.decode()


def test_owner_can_require_two_factor_for_all_staff(world):
    owner = member(world.reseller, "owner")
    support = member(world.reseller, "support")
    client = Client()
    client.force_login(owner)
    client.post(reverse("dashboard:settings_security"), {"require_2fa": "on"})
    staff = Client()
    staff.force_login(support)
    response = staff.get(reverse("dashboard:subscribers"))
    assert response["Location"] == reverse("dashboard:twofactor_setup")


def test_only_an_owner_may_require_two_factor(world):
    from apps.core.errors import PermissionDenied

    admin = member(world.reseller, "admin")
    from apps.core.actors import Actor

    with pytest.raises(PermissionDenied):
        security_set_require_2fa(actor=Actor.for_user(admin), reseller=world.reseller,
                                 required=True)
    security_set_require_2fa(actor=SYSTEM, reseller=world.reseller, required=False)


def test_a_user_of_several_resellers_chooses_one(world):
    user = member(world.reseller, "owner")
    MembershipFactory.create(user=user, reseller=world.other, role="viewer")
    client = Client()
    client.force_login(user)
    assert client.get(reverse("dashboard:overview"))["Location"] == reverse("dashboard:switch")
    client.post(reverse("dashboard:switch"), {"reseller": world.other.pk})
    page = client.get(reverse("dashboard:overview"))
    assert page.status_code == 200
    assert "Beta" in page.content.decode()
    # A reseller the user does not belong to cannot be chosen.
    stranger = ResellerFactory.create()
    client.post(reverse("dashboard:switch"), {"reseller": stranger.pk})
    assert client.session[SESSION_RESELLER] == world.other.pk


def test_password_reset_sends_a_link_that_sets_the_password(world):
    user = member(world.reseller, "owner")
    client = Client()
    client.post(reverse("dashboard:password_reset"), {"email": user.email})
    assert len(mail.outbox) == 1
    link = next(w for w in mail.outbox[0].body.split() if "/reset/" in w)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    response = client.post(form.redirect_chain[-1][0], {
        "new_password1": "a-new-Passw0rd-here", "new_password2": "a-new-Passw0rd-here"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-new-Passw0rd-here")


def test_invited_staff_member_gets_a_password_link(world, signed_in):
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:staff_invite"),
                           {"email": "New.Person@Example.com", "role": "support"})
    assert response.status_code == 302
    assert world.reseller.memberships.filter(user__email="new.person@example.com",
                                             role="support").exists()
    assert "/reset/" in mail.outbox[0].body
