from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = ["overview", "billing", "subscribers", "expiring", "queue", "account_new", "plans",
         "plan_new", "settings_reseller", "settings_subscription", "settings_notifications",
         "settings_template", "settings_api", "settings_staff", "settings_security", "audit"]


@pytest.mark.parametrize("name", PAGES)
def test_owner_sees_every_page(world, signed_in, name):
    client = signed_in(world.reseller, "owner")
    response = client.get(reverse(f"dashboard:{name}"))
    assert response.status_code == 200, response.content[:2000]


def test_subscriber_page_renders(world, signed_in):
    client = signed_in(world.reseller, "owner")
    response = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk]))
    assert response.status_code == 200
    assert world.account.username in response.content.decode()


def test_language_switcher_turns_the_dashboard_spanish(world, signed_in):
    client = signed_in(world.reseller, "owner")
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Resumen" in page and "Saldo de créditos" in page
    assert '<html lang="es">' in page


def test_choice_labels_follow_the_language(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    page = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()
    assert 'data-testid="status">Activa<' in page
    assert "Activación" in page
