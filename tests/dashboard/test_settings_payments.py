"""Settings > Payments: the reseller's Stripe keys per mode, in the browser's forms."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Role
from apps.payments.models import StripeKeys
from apps.payments.selectors import card_payments_on
from apps.payments.stripe_keys import stripe_keys_set
from tests.conftest import SYSTEM
from tests.stripe_server import StripeServer

from .conftest import World, member

pytestmark = pytest.mark.django_db

HTMX: dict[str, Any] = {"HTTP_HX_REQUEST": "true"}
URL = "/settings/payments/"
SK = "sk_test_51Panel0000secret7788"


def owner(world: World) -> Client:
    client = Client()
    client.force_login(member(world.reseller, Role.OWNER))
    return client


def save(client: Client, mode: str = "test", **values: str) -> Any:
    data = {"mode": mode, f"{mode}-publishable_key": f"pk_{mode}_51Pub",
            f"{mode}-secret_key": SK if mode == "test" else "sk_live_51Live0000secret1234",
            f"{mode}-webhook_secret": "whsec_abc123"}
    data.update({f"{mode}-{k}": v for k, v in values.items()})
    return client.post(URL, data)


def test_the_tab_is_reached_by_its_name_and_says_card_payments_are_off_without_keys(world):
    assert reverse("dashboard:settings_payments") == URL
    page = owner(world).get(URL).content.decode()

    assert "Card payments are off in test mode: no Stripe keys." in page
    assert "Card payments are off in live mode: no Stripe keys." in page
    slug = world.reseller.slug
    assert f"http://testserver/webhooks/stripe/{slug}/test/" in page
    assert f"http://testserver/webhooks/stripe/{slug}/live/" in page


def test_saved_keys_show_the_publishable_key_and_only_the_secrets_hint(world):
    client = owner(world)
    response = save(client)
    assert response.status_code == 302 and response["Location"] == URL

    page = client.get(URL).content.decode()
    assert "Stripe keys for test mode saved." in page
    assert "pk_test_51Pub" in page
    assert "••••7788" in page
    assert SK not in page and "whsec_abc123" not in page
    assert "Card payments are on in test mode." in page
    assert "Card payments are off in live mode: no Stripe keys." in page
    assert card_payments_on(world.reseller, False)


def test_a_live_key_in_the_test_slot_is_refused_beside_its_field(world):
    client = owner(world)
    response = save(client, secret_key="sk_live_51Wrong0000secret9999")

    assert response.status_code == 400
    page = response.content.decode()
    assert "This is the test mode slot: it takes a secret key starting sk_test_ or rk_test_. " \
           "The key pasted is a live mode key (sk_live_…)." in page
    assert "51Wrong0000secret9999" not in page
    assert not StripeKeys.objects.exists()


def test_a_test_key_in_the_live_slot_is_refused(world):
    response = save(owner(world), "live", publishable_key="pk_test_51Pub")

    assert response.status_code == 400
    assert "This is the live mode slot: it takes a publishable key starting pk_live_. " \
           "The key pasted is a test mode key (pk_test_…)." in response.content.decode()


def test_an_empty_secret_keeps_the_saved_one(world):
    client = owner(world)
    save(client)
    save(client, publishable_key="pk_test_51Changed", secret_key="", webhook_secret="")

    keys = StripeKeys.objects.get(reseller=world.reseller)
    assert (keys.publishable_key, keys.secret_key_hint) == ("pk_test_51Changed", "••••7788")


def test_remove_keys_turns_card_payments_off(world):
    client = owner(world)
    save(client)

    response = client.post(reverse("dashboard:settings_payments_remove", args=["test"]))

    assert response.status_code == 302
    assert not card_payments_on(world.reseller, False)
    assert "card payments are off" in client.get(URL).content.decode()


def test_test_connection_answers_in_place_with_htmx(world, stripe_base: StripeServer):
    client = owner(world)
    save(client)

    response = client.post(reverse("dashboard:settings_payments_check", args=["test"]), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.startswith('<div id="stripe-check-test">')
    assert 'data-testid="stripe-check-result"' in page and "result-ok" in page
    assert "Stripe answered: Stripe test account reached" in page
    assert "Last test: connected" in client.get(URL).content.decode()


def test_refused_keys_are_said_in_place_not_a_server_error(world, stripe_base: StripeServer):
    client = owner(world)
    save(client)
    stripe_base.reject_key(SK)

    response = client.post(reverse("dashboard:settings_payments_check", args=["test"]), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200 and "result-bad" in page
    assert "Stripe refused these keys" in page
    assert SK not in page


def test_without_javascript_test_connection_is_a_message_on_the_tab(world,
                                                                    stripe_base: StripeServer):
    client = owner(world)
    save(client)

    response = client.post(reverse("dashboard:settings_payments_check", args=["test"]))

    assert response.status_code == 302 and response["Location"] == URL
    assert "Stripe answered:" in client.get(URL).content.decode()


def test_an_unknown_mode_is_not_found(world):
    client = owner(world)
    assert client.post(reverse("dashboard:settings_payments_check", args=["prod"])).status_code \
        == 404
    assert client.post(URL, {"mode": "prod"}).status_code == 404


@pytest.mark.parametrize(("role", "allowed"), [
    (Role.OWNER, True), (Role.ADMIN, True), (Role.BILLING, False), (Role.SUPPORT, False),
    (Role.VIEWER, False),
])
def test_only_owners_and_admins_see_and_use_the_tab(world, role, allowed):
    client = Client()
    client.force_login(member(world.reseller, role))

    assert (client.get(URL).status_code == 200) is allowed
    assert (save(client).status_code == 302) is allowed
    if not allowed:
        assert client.get(URL).status_code == 403
        assert save(client).status_code == 403
        assert not StripeKeys.objects.exists()
    if role != Role.VIEWER:
        tabs = client.get(reverse("dashboard:settings")).status_code
        assert tabs in (302, 403)


def test_a_resellers_keys_never_show_on_anothers_page(world):
    stripe_keys_set(actor=SYSTEM, reseller=world.other, livemode=False,
                    publishable_key="pk_test_51OtherReseller",
                    secret_key="sk_test_51Other0000secret4321", webhook_secret="")
    client = owner(world)

    page = client.get(URL).content.decode()
    assert "pk_test_51OtherReseller" not in page and "4321" not in page
    assert "Card payments are off in test mode: no Stripe keys." in page
    client.post(reverse("dashboard:settings_payments_remove", args=["test"]))
    assert card_payments_on(world.other, False)


def test_the_tab_speaks_spanish(world):
    client = owner(world)
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    save(client, "live")

    page = client.get(URL).content.decode()
    for text in ("Pagos", "Los pagos con tarjeta están desactivados en modo de prueba: "
                 "no hay claves de Stripe.", "Probar la conexión", "Quitar las claves",
                 "Los pagos con tarjeta están activados en modo real."):
        assert text in page, text
    response = save(client, secret_key="sk_live_51Wrong0000secret9999")
    assert "Esta es la ranura del modo de prueba" in response.content.decode()
