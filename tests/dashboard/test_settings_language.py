"""Settings in the reseller's languages: the reseller's own language kept by a save, email
templates edited and previewed per language, and the API tab's codes shown as words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.accounts.models import Reseller

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
