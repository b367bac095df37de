"""Settings in the reseller's languages: the reseller's own language kept by a save, email
templates edited and previewed per language, and the API tab's codes shown as words."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from apps.accounts.models import Reseller
from apps.api.models import WebhookDelivery
from apps.api.services import api_key_create, webhook_endpoint_create
from apps.notifications import rendering
from apps.notifications.models import NotificationTemplate
from apps.notifications.services import notification_template_save
from tests.conftest import SYSTEM

from .conftest import World
from .test_forms import error_beside

pytestmark = pytest.mark.django_db

RESELLER_FORM = {"timezone": "Europe/Madrid", "contact_email": "a@alpha.example",
                 "reactivation_policy": "from_expiry"}


def _selected(page: str, select_id: str) -> list[str]:
    found = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert found is not None, select_id
    return re.findall(r'<option value="([^"]*)"[^>]*selected', found.group(1))


# ---------------------------------------------------------------- the reseller's language


def test_the_reseller_tab_shows_the_resellers_language_each_in_its_own_name(world, signed_in):
    Reseller.objects.filter(pk=world.reseller.pk).update(language="es")
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_reseller")).content.decode()
    assert _selected(page, "id_language") == ["es"]
    assert '<option value="es" selected>Español</option>' in page
    assert '<option value="en">English</option>' in page


def test_saving_the_reseller_tab_keeps_a_spanish_reseller_spanish(world, signed_in):
    Reseller.objects.filter(pk=world.reseller.pk).update(language="es")
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_reseller")
    # The form as the page fills it: the language is sent as it was.
    page = client.get(url).content.decode()
    assert client.post(url, {**RESELLER_FORM, "language": _selected(page, "id_language")[0]}) \
        .status_code == 302
    world.reseller.refresh_from_db()
    assert world.reseller.language == "es"
    # An older form that does not send it leaves it alone too.
    assert client.post(url, RESELLER_FORM).status_code == 302
    world.reseller.refresh_from_db()
    assert world.reseller.language == "es"


def test_the_reseller_tab_changes_the_language_and_refuses_an_unknown_one(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_reseller")
    assert client.post(url, {**RESELLER_FORM, "language": "es"}).status_code == 302
    world.reseller.refresh_from_db()
    assert world.reseller.language == "es"
    response = client.post(url, {**RESELLER_FORM, "language": "xx"})
    assert response.status_code == 400 and error_beside(response.content.decode(), "id_language")
    world.reseller.refresh_from_db()
    assert world.reseller.language == "es"


# ---------------------------------------------------------------- templates per language


HTMX = {"HTTP_HX_REQUEST": "true"}


def _subject(page: str) -> str:
    found = re.search(r'<input[^>]*name="subject"[^>]*value="([^"]*)"', page)
    assert found is not None
    return found.group(1)


def test_a_language_selector_beside_the_event_loads_the_default_in_that_language(
        world, signed_in):
    client = signed_in(world.reseller, "owner")
    page = client.get(reverse("dashboard:settings_template")).content.decode()
    form = page[page.index('id="templates"'):page.index('id="template-editor"')]
    # Both selectors in the one form that htmx sends on a change.
    assert 'hx-get="' + reverse("dashboard:settings_template_load") + '"' in form
    assert 'hx-trigger="change"' in form
    assert '<select id="tpl-language" name="language">' in form
    assert '<option value="es">Español</option>' in form
    assert _selected(page, "tpl-language") == ["en"]
    partial = client.get(reverse("dashboard:settings_template_load"),
                         {"event": "welcome", "language": "es"}, **HTMX).content.decode()
    assert partial.startswith('<div id="template-editor">')
    default_es = rendering.default_template_sources("welcome", "es")
    assert default_es != rendering.default_template_sources("welcome", "en")
    assert _subject(partial) == escape(default_es[0].strip())
    assert 'name="language" value="es"' in partial
    assert 'data-origin="default"' in partial
    # The preview is the Spanish email.
    spanish = rendering.template_preview(world.reseller.pk, "welcome", "es",
                                         context={"reseller_name": "Alpha"})
    assert escape(spanish.subject) in partial
    # Without JS the same URL leads to the tab with both loaded.
    response = client.get(reverse("dashboard:settings_template_load"),
                          {"event": "welcome", "language": "es"})
    assert response["Location"] == reverse("dashboard:settings_template") + \
        "?event=welcome&language=es"
    assert client.get(reverse("dashboard:settings_template"),
                      {"event": "welcome", "language": "xx"}).status_code == 404


def test_the_tab_opens_in_the_resellers_own_language(world, signed_in):
    Reseller.objects.filter(pk=world.reseller.pk).update(language="es")
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_template"), {"event": "welcome"}).content.decode()
    assert _selected(page, "tpl-language") == ["es"]
    assert _subject(page) == escape(rendering.default_template_sources("welcome", "es")[0]
                                    .strip())


def test_a_template_saved_in_spanish_is_loaded_in_spanish_only(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_template")
    response = client.post(url + "?event=welcome&language=es", {
        "event": "welcome", "language": "es", "subject": "Hola {{ subscriber_name }}",
        "text": "Usuario {{ username }}", "action": "save"})
    assert response.status_code == 302
    assert response["Location"] == url + "?event=welcome&language=es"
    saved = NotificationTemplate.objects.get(reseller=world.reseller, event="welcome")
    assert (saved.language, saved.subject) == ("es", "Hola {{ subscriber_name }}")
    spanish = client.get(url, {"event": "welcome", "language": "es"}).content.decode()
    assert _subject(spanish) == "Hola {{ subscriber_name }}"
    assert 'data-origin="own"' in spanish
    assert 'data-testid="preview-subject">Hola ' in spanish
    english = client.get(reverse("dashboard:settings_template_load"),
                         {"event": "welcome", "language": "en"}, **HTMX).content.decode()
    assert _subject(english) == escape(rendering.default_template_sources("welcome")[0].strip())
    assert 'data-origin="default"' in english


def test_the_preview_of_a_draft_renders_in_its_language(world, signed_in):
    page = signed_in(world.reseller, "owner").post(
        reverse("dashboard:settings_template"), {
            "event": "welcome", "language": "es", "subject": "Hola",
            "text": "{{ expires_at|date:'F' }}", "action": "preview"}).content.decode()
    preview = re.search(r'data-testid="preview-text">(.*?)</pre>', page, re.S)
    assert preview is not None
    month = preview.group(1).strip().lower()
    spanish_months = {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
                      "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
    assert month in spanish_months
    assert not NotificationTemplate.objects.filter(reseller=world.reseller).exists()


def test_your_own_templates_are_listed_by_event_and_language(world, signed_in):
    for language, subject in (("es", "Hola"), ("en", "Hello")):
        notification_template_save(actor=SYSTEM, reseller=world.reseller, event="welcome",
                                   subject=subject, text="x", language=language)
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_template")).content.decode()
    listed = page[page.index('data-testid="own-templates"'):page.index('id="template-editor"')]
    links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', listed)
    url = reverse("dashboard:settings_template")
    assert links == [
        (url + "?event=welcome&amp;language=en", "Welcome (with credentials) · English"),
        (url + "?event=welcome&amp;language=es", "Welcome (with credentials) · Español")]
    assert "Welcome (with credentials) · your own: English, Español</option>" in page


# ---------------------------------------------------------------- API tab labels


def _api_tab_with_keys_and_deliveries(world: World) -> None:
    for mode in ("live", "test"):
        api_key_create(actor=SYSTEM, reseller=world.reseller, name=mode, mode=mode,
                       scopes=["accounts:read"])
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        endpoint, _ = webhook_endpoint_create(actor=SYSTEM, reseller=world.reseller,
                                              livemode=True, url="https://hooks.example/x",
                                              events=["account.renewed"])
    now = timezone.now()
    for n, status in enumerate(("pending", "succeeded", "failed")):
        WebhookDelivery.objects.create(
            endpoint=endpoint, reseller=world.reseller, event_id=f"evt_{n}",
            event_type="account.renewed", payload={}, status=status, created_at=now,
            give_up_at=now + dt.timedelta(days=3),
            last_status_code=200 if status == "succeeded" else None)


@pytest.mark.parametrize(("language", "modes", "statuses"), [
    ("en", {"live": "Live", "test": "Test"},
     {"pending": "Pending", "succeeded": "Succeeded", "failed": "Failed"}),
    ("es", {"live": "Real", "test": "Prueba"},
     {"pending": "Pendiente", "succeeded": "Entregado", "failed": "Fallido"}),
])
def test_the_api_tab_names_key_modes_and_delivery_states_in_the_readers_language(
        world, signed_in, language, modes, statuses):
    _api_tab_with_keys_and_deliveries(world)
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:settings_api"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    shown_modes = dict(re.findall(r'data-testid="key-mode" data-mode="(\w+)">([^<]+)</td>', page))
    assert shown_modes == modes
    shown = dict(re.findall(r'data-testid="delivery-status" data-status="(\w+)">([^<(]+)', page))
    assert {k: v.strip() for k, v in shown.items()} == statuses
    assert f"{statuses['succeeded']} (200)" in page
