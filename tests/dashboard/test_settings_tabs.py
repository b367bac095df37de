"""The settings tabs: each its own URL, saves that come back to their tab, the test email's
answer beside its button, fields for the chosen delivery only, the template editor, a staff
list that offers only what the server accepts, API key allow-lists, who lacks 2FA, the logo."""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import LOGO_MAX_BYTES, ResellerLogo, StaffMembership, User
from apps.api.models import ApiKey
from apps.notifications.models import NotificationSettings, OutboxMessage
from apps.notifications.services import notification_settings_update
from tests.conftest import SYSTEM
from tests.mailserver import MailCatcher, running_smtp_server
from tests.notifications.helpers import use_smtp

from .conftest import World, member
from .test_forms import error_beside

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TABS = ("settings_reseller", "settings_subscription", "settings_notifications",
        "settings_template", "settings_payments", "settings_api", "settings_staff",
        "settings_security")


@pytest.fixture
def smtp() -> Iterator[tuple[MailCatcher, int]]:
    with running_smtp_server() as server:
        yield server


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\x00\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


# ---------------------------------------------------------------- tabs


def test_settings_opens_the_first_tab_the_role_may_see(world, signed_in):
    response = signed_in(world.reseller, "owner").get(reverse("dashboard:settings"))
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:settings_reseller")
    assert signed_in(world.reseller, "viewer").get(reverse("dashboard:settings")).status_code \
        == 403


@pytest.mark.parametrize("name", TABS)
def test_every_tab_is_its_own_page_marked_in_the_tab_bar_and_the_nav(world, signed_in, name):
    page = signed_in(world.reseller, "owner").get(reverse(f"dashboard:{name}")).content.decode()
    url = reverse(f"dashboard:{name}")
    bar = re.search(r'<nav class="tabs"[^>]*>(.*?)</nav>', page, re.S)
    assert bar is not None
    assert re.findall(r'href="([^"]+)" aria-current="page"', bar.group(1)) == [url]
    assert len(re.findall(r"<a href=", bar.group(1))) == len(TABS)
    # The main navigation keeps "Settings" highlighted on every tab.
    assert re.search(r'href="/settings/" aria-current="page"', page)


def test_tabs_the_role_may_not_use_are_not_offered_and_are_refused(world, signed_in):
    admin = signed_in(world.reseller, "admin")
    page = admin.get(reverse("dashboard:settings_reseller")).content.decode()
    assert reverse("dashboard:settings_security") not in page
    assert reverse("dashboard:settings_api") in page
    assert admin.get(reverse("dashboard:settings_security")).status_code == 403


@pytest.mark.parametrize(("name", "data", "message"), [
    ("settings_reseller", {"timezone": "Europe/Madrid", "contact_email": "a@alpha.example",
                           "reactivation_policy": "from_expiry"}, "Settings saved."),
    ("settings_subscription", {"reminder_offsets": "7, 1", "grace_hours": 48,
                               "termination_after_days": 30, "renewal_lead_days": 0,
                               "dunning_reminder_days": 1, "dunning_suspend_days": 3,
                               "dunning_terminate_days": 30, "credit_floor": 5},
     "Subscription settings saved."),
    ("settings_notifications", {"delivery": "none", "smtp_port": 587,
                                "smtp_security": "starttls"}, "Notification settings saved."),
    ("settings_security", {"require_2fa": ""}, "Security settings saved."),
])
def test_a_save_comes_back_to_its_own_tab_with_its_message(world, signed_in, name, data,
                                                           message):
    client = signed_in(world.reseller, "owner")
    url = reverse(f"dashboard:{name}")
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"] == url
    assert message in client.get(url).content.decode()


def test_links_elsewhere_lead_to_the_tab_they_name(world, signed_in):
    client = signed_in(world.reseller, "owner")
    assert reverse("dashboard:settings_notifications") in client.get("/").content.decode()
    billing = client.get(reverse("dashboard:billing")).content.decode()
    assert reverse("dashboard:settings_subscription") in billing


# ---------------------------------------------------------------- the test email


def test_test_email_answer_shows_beside_the_button_with_the_smtp_reply_and_the_row(
        world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:settings_test_email"), {"to": "me@example.com"},
                           **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.startswith('<div id="test-email">') and "<html" not in page
    assert "Test email sent to me@example.com." in page
    assert f"127.0.0.1:{port}" in page and "250 Message accepted for delivery" in page
    row = OutboxMessage.objects.get(reseller=world.reseller, event="test")
    assert (row.status, row.recipient, row.livemode) == ("sent", "me@example.com", False)
    assert row.provider_message_id
    row_url = reverse("dashboard:outbox_message", args=[row.pk])
    assert f'href="{row_url}"' in page
    detail = client.get(row_url).content.decode()
    assert 'data-status="sent"' in detail and "me@example.com" in detail
    assert catcher.received[-1].recipients == ["me@example.com"]


def test_a_refused_test_email_shows_the_servers_error_and_raises_no_banner(
        world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    OutboxMessage.objects.filter(reseller=world.reseller).delete()
    catcher.refuse_with = "550 5.7.1 Relaying denied"
    client = signed_in(world.reseller, "owner")
    page = client.post(reverse("dashboard:settings_test_email"), {"to": "me@example.com"},
                       **HTMX).content.decode()
    assert "The test email was not sent." in page and "550 5.7.1 Relaying denied" in page
    row = OutboxMessage.objects.get(reseller=world.reseller, event="test")
    assert row.status == "failed" and row.last_error == "550 5.7.1 Relaying denied"
    assert reverse("dashboard:outbox_message", args=[row.pk]) in page
    detail = client.get(reverse("dashboard:outbox_message", args=[row.pk])).content.decode()
    assert "550 5.7.1 Relaying denied" in detail
    # A failed test is not a subscriber's email that failed.
    assert 'id="email-warning"' not in client.get("/").content.decode()


def test_the_panels_console_backend_says_the_email_is_in_the_console(world, signed_in,
                                                                      settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    notification_settings_update(actor=SYSTEM, reseller=world.reseller, delivery="panel")
    page = signed_in(world.reseller, "owner").post(
        reverse("dashboard:settings_test_email"), {"to": "me@example.com"},
        **HTMX).content.decode()
    assert "Written to the web process&#x27;s console" in page


def test_without_javascript_the_test_email_answer_is_a_message_on_the_notifications_tab(
        world, signed_in, smtp):
    _, port = smtp
    use_smtp(world.reseller, port)
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:settings_test_email"), {"to": "me@example.com"})
    assert response["Location"] == reverse("dashboard:settings_notifications")
    page = client.get(response["Location"]).content.decode()
    row = OutboxMessage.objects.get(reseller=world.reseller, event="test")
    assert "Test email sent to me@example.com." in page
    assert "250 Message accepted for delivery" in page
    assert f'<a href="{reverse("dashboard:outbox_message", args=[row.pk])}">' in page


def test_a_bad_test_address_is_named_beside_the_field_with_or_without_javascript(
        world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_test_email")
    response = client.post(url, {"to": "nope"}, **HTMX)
    assert response.status_code == 200 and error_beside(response.content.decode(), "id_to")
    response = client.post(url, {"to": "nope"})
    assert response.status_code == 400 and error_beside(response.content.decode(), "id_to")
    assert not OutboxMessage.objects.filter(event="test").exists()


def test_another_resellers_outbox_row_is_not_found(world, signed_in):
    row = OutboxMessage.objects.filter(reseller=world.other).first()
    assert row is not None
    client = signed_in(world.reseller, "owner")
    assert client.get(reverse("dashboard:outbox_message", args=[row.pk])).status_code == 404


# ---------------------------------------------------------------- fields for the delivery chosen


def test_smtp_and_email_service_fields_are_marked_for_their_delivery(world, signed_in):
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_notifications")).content.decode()
    smtp = re.findall(r'data-show-when="delivery" data-show-values="smtp"[^>]*>\s*<div[^>]*>\s*'
                      r'<label for="id_(\w+)"', page)
    esp = re.findall(r'data-show-when="delivery" data-show-values="esp"[^>]*>\s*<div[^>]*>\s*'
                     r'<label for="id_(\w+)"', page)
    assert smtp == ["smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_security"]
    assert esp == ["esp_name", "esp_api_key"]
    # No inline script: a Content-Security-Policy will forbid them.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)


def test_fields_of_another_delivery_are_neither_required_nor_saved(world, signed_in):
    client = signed_in(world.reseller, "owner")
    notification_settings_update(actor=SYSTEM, reseller=world.reseller, delivery="smtp",
                                 smtp_host="mail.alpha.example", smtp_port=2525)
    url = reverse("dashboard:settings_notifications")
    response = client.post(url, {"delivery": "none", "smtp_port": "not a port",
                                 "smtp_security": "", "smtp_host": "other.example"})
    assert response.status_code == 302
    config = NotificationSettings.objects.get(reseller=world.reseller)
    assert (config.delivery, config.smtp_host, config.smtp_port) == \
        ("none", "mail.alpha.example", 2525)
    # The chosen delivery's own fields are still checked.
    response = client.post(url, {"delivery": "smtp", "smtp_port": "not a port",
                                 "smtp_security": "starttls", "smtp_host": "x.example"})
    assert response.status_code == 400 and error_beside(response.content.decode(),
                                                        "id_smtp_port")


# ---------------------------------------------------------------- templates


def test_one_selector_loads_the_events_subject_and_body_at_once(world, signed_in):
    client = signed_in(world.reseller, "owner")
    page = client.get(reverse("dashboard:settings_template")).content.decode()
    tab = page[page.index('id="templates"'):]
    # One selector for the event (its language beside it), no separate subject/body picks.
    assert tab.count("<select") == 2 and '<select id="tpl-event" name="event">' in tab
    assert 'hx-get="' + reverse("dashboard:settings_template_load") + '"' in page
    partial = client.get(reverse("dashboard:settings_template_load"),
                         {"event": "renewal_reminder"}, **HTMX).content.decode()
    assert partial.startswith('<div id="template-editor">') and "<html" not in partial
    assert 'name="event" value="renewal_reminder"' in partial
    assert re.search(r'<input[^>]*name="subject"[^>]*value="[^"]+"', partial)
    assert re.search(r'<textarea name="text"[^>]*>\s*\S', partial)
    assert 'id="template-preview"' in partial
    # Without JS the same URL leads to the tab with that event loaded.
    response = client.get(reverse("dashboard:settings_template_load"),
                          {"event": "renewal_reminder"})
    assert response["Location"] == reverse("dashboard:settings_template") + \
        "?event=renewal_reminder&language=en"


def test_the_preview_is_signed_with_the_resellers_own_name(world, signed_in):
    client = signed_in(world.reseller, "owner")
    page = client.get(reverse("dashboard:settings_template"),
                      {"event": "welcome"}).content.decode()
    preview = re.search(r'data-testid="preview-text">(.*?)</pre>', page, re.S)
    assert preview is not None and "Alpha" in preview.group(1)
    assert "Example Reseller" not in preview.group(1)
    page = client.post(reverse("dashboard:settings_template"), {
        "event": "welcome", "subject": "Hi", "text": "Regards, {{ reseller_name }}",
        "action": "preview"}).content.decode()
    assert "Regards, Alpha" in page and "Example Reseller" not in page


# ---------------------------------------------------------------- staff


def test_the_invite_form_offers_viewer_first_and_no_owner_to_an_admin(world, signed_in):
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_staff")).content.decode()
    invite = page[page.index('id="id_role"'):]
    assert re.search(r'<option value="viewer" selected>', invite[:invite.index("</select>")])
    admin = signed_in(world.reseller, "admin").get(
        reverse("dashboard:settings_staff")).content.decode()
    invite = admin[admin.index('id="id_role"'):]
    assert 'value="owner"' not in invite[:invite.index("</select>")]


def _row(page: str, user_id: int) -> str:
    found = re.search(rf'<tr data-testid="staff-row" data-user="{user_id}">(.*?)</tr>', page,
                      re.S)
    assert found is not None
    return found.group(1)


def test_the_staff_page_offers_nothing_the_server_refuses_and_the_server_still_refuses(
        world: World):
    owner = member(world.reseller, "owner")
    admin = member(world.reseller, "admin")
    support = member(world.reseller, "support")
    client = _client(owner)
    page = client.get(reverse("dashboard:settings_staff")).content.decode()
    mine = _row(page, owner.pk)
    assert reverse("dashboard:staff_remove", args=[owner.pk]) not in mine
    assert reverse("dashboard:staff_role", args=[owner.pk]) not in mine
    assert "(you)" in mine
    theirs = _row(page, support.pk)
    assert reverse("dashboard:staff_remove", args=[support.pk]) in theirs
    assert reverse("dashboard:staff_role", args=[support.pk]) in theirs

    # The server refuses it all the same: yourself, and the last owner.
    client.post(reverse("dashboard:staff_remove", args=[owner.pk]))
    client.post(reverse("dashboard:staff_role", args=[owner.pk]), {"role": "viewer"})
    assert StaffMembership.objects.get(reseller=world.reseller, user=owner).role == "owner"
    page = client.get(reverse("dashboard:settings_staff")).content.decode()
    assert "You cannot remove yourself or change your own role" in page

    # An admin is offered no change to an owner, nor owner for anyone.
    page = _client(admin).get(reverse("dashboard:settings_staff")).content.decode()
    assert reverse("dashboard:staff_remove", args=[owner.pk]) not in _row(page, owner.pk)
    assert reverse("dashboard:staff_role", args=[owner.pk]) not in _row(page, owner.pk)
    assert 'value="owner"' not in _row(page, support.pk)
    _client(admin).post(reverse("dashboard:staff_remove", args=[owner.pk]))
    _client(admin).post(reverse("dashboard:staff_role", args=[support.pk]), {"role": "owner"})
    assert StaffMembership.objects.get(reseller=world.reseller, user=owner).role == "owner"
    assert StaffMembership.objects.get(reseller=world.reseller, user=support).role == "support"


def test_a_second_owner_may_be_removed_but_the_last_one_never(world: World):
    first = member(world.reseller, "owner")
    second = member(world.reseller, "owner")
    page = _client(first).get(reverse("dashboard:settings_staff")).content.decode()
    assert reverse("dashboard:staff_remove", args=[second.pk]) in _row(page, second.pk)
    _client(first).post(reverse("dashboard:staff_remove", args=[second.pk]))
    assert not StaffMembership.objects.filter(reseller=world.reseller, user=second).exists()
    # Now the only owner: no Remove for it, whoever looks.
    admin = member(world.reseller, "admin")
    page = _client(admin).get(reverse("dashboard:settings_staff")).content.decode()
    assert reverse("dashboard:staff_remove", args=[first.pk]) not in _row(page, first.pk)


# ---------------------------------------------------------------- API keys


def test_an_api_key_takes_an_ip_allow_list_and_an_expiry_and_lists_them(world, signed_in):
    client = signed_in(world.reseller, "admin")
    expires = timezone.localdate() + dt.timedelta(days=30)
    response = client.post(reverse("dashboard:api_key_create"), {
        "name": "Office", "mode": "live", "scopes": ["accounts:read"],
        "allowed_ips": "203.0.113.7, 198.51.100.0/24\n2001:db8::/32",
        "expires_at": expires.isoformat()})
    assert response.status_code == 200
    key = ApiKey.objects.get(reseller=world.reseller, name="Office")
    assert key.allowed_ips == ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32"]
    assert key.expires_at is not None and key.expires_at.date() == expires
    page = client.get(reverse("dashboard:settings_api")).content.decode()
    assert "203.0.113.7/32, 198.51.100.0/24, 2001:db8::/32" in page
    assert expires.isoformat() in page


@pytest.mark.parametrize(("field", "value"), [
    ("allowed_ips", "203.0.113.7, 10.0.0.300"),
    ("allowed_ips", "office"),
    ("expires_at", "2001-01-01"),
])
def test_a_bad_allow_list_or_a_past_expiry_is_named_beside_its_field(world, signed_in, field,
                                                                     value):
    client = signed_in(world.reseller, "admin")
    response = client.post(reverse("dashboard:api_key_create"), {
        "name": "Office", "mode": "live", "scopes": ["accounts:read"], field: value})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), f"key_{field}")
    assert not ApiKey.objects.filter(reseller=world.reseller).exists()


# ---------------------------------------------------------------- security


def test_an_owner_who_requires_2fa_sees_who_has_not_set_it_up(world: World):
    owner = member(world.reseller, "owner")
    TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    support = member(world.reseller, "support")
    viewer = member(world.reseller, "viewer")
    TOTPDevice.objects.create(user=viewer, name="phone", confirmed=True)
    client = _client(owner)
    session = client.session
    # The owner has a device: its second factor is verified for this session.
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=owner).persistent_id
    session.save()
    response = client.post(reverse("dashboard:settings_security"), {"require_2fa": "on"})
    assert response["Location"] == reverse("dashboard:settings_security")
    page = client.get(response["Location"]).content.decode()
    assert re.findall(r'data-testid="without-2fa"><td>([^<]+)<', page) == [support.email]
    assert "1 staff member has not set up two-factor sign-in yet" in page


# ---------------------------------------------------------------- logo and favicon


def test_an_uploaded_logo_shows_in_the_header_served_as_an_image(world: World):
    owner = member(world.reseller, "owner")
    client = _client(owner)
    png = _png(4, 2)
    response = client.post(reverse("dashboard:settings_logo"), {"logo": _upload("l.png", png)})
    assert response["Location"] == reverse("dashboard:settings_reseller")
    world.reseller.refresh_from_db()
    version = world.reseller.logo_version
    assert version and ResellerLogo.objects.get(reseller=world.reseller).content_type == \
        "image/png"
    viewer = _client(member(world.reseller, "viewer"))
    page = viewer.get("/").content.decode()
    logo_url = reverse("dashboard:reseller_logo", args=[version])
    assert re.search(rf'<strong class="brand"><img src="{logo_url}"', page)
    image = viewer.get(logo_url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert bytes(image.content) == png
    assert "immutable" in image["Cache-Control"] and "private" in image["Cache-Control"]
    assert image["X-Content-Type-Options"] == "nosniff"
    assert viewer.get(reverse("dashboard:reseller_logo", args=["0" * 16])).status_code == 404
    signed_out = Client().get(logo_url)
    assert signed_out.status_code == 302 and "immutable" not in signed_out.get(
        "Cache-Control", "")
    # Another reseller's staff never see it.
    other = _client(member(world.other, "owner"))
    assert other.get(logo_url).status_code == 404

    client.post(reverse("dashboard:settings_logo"), {"action": "remove"})
    world.reseller.refresh_from_db()
    assert world.reseller.logo_version == ""
    assert 'class="brand-logo"' not in viewer.get("/").content.decode()
    assert viewer.get(logo_url).status_code == 404


@pytest.mark.parametrize(("name", "content", "message"), [
    ("logo.svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
                 b"<script>alert(1)</script></svg>", "SVG logos are refused"),
    ("logo.gif", b"GIF89a" + b"\x00" * 20, "The logo is a PNG, JPEG or WebP image."),
    ("big.png", _png() + b"\x00" * LOGO_MAX_BYTES, "The logo is at most 256 KB"),
])
def test_a_logo_that_is_not_a_small_png_jpeg_or_webp_is_refused(world, signed_in, name,
                                                                 content, message):
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:settings_logo"),
                           {"logo": _upload(name, content)})
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "id_logo") and message in page
    assert not ResellerLogo.objects.exists()


def test_every_page_links_the_favicon(world, signed_in):
    page = signed_in(world.reseller, "viewer").get("/").content.decode()
    assert re.search(r'<link rel="icon" href="/static/favicon\.svg"', page)
    signin = Client().get(reverse("dashboard:signin")).content.decode()
    assert 'rel="icon"' in signin


def test_the_tabs_speak_spanish(world: World):
    owner = member(world.reseller, "owner")
    client = _client(owner)
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    page = client.get(reverse("dashboard:settings_staff")).content.decode()
    for text in ("Suscripciones", "API y webhooks", "Secciones de la configuración", "(tú)"):
        assert text in page, text
    page = client.get(reverse("dashboard:settings_security")).content.decode()
    assert "1 persona del personal no ha configurado la verificación en dos pasos." in page
