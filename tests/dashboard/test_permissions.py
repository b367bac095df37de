"""Every view, every role: the role matrix decides on the server, and another tenant's
objects are not found."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts.models import Role
from apps.accounts.permissions import role_allows
from apps.api.models import WebhookDelivery
from apps.api.services import api_key_create, webhook_endpoint_create
from apps.crm.services import interaction_add, note_add
from apps.notifications.models import OutboxMessage
from apps.payments.charges import wallet_top_up
from apps.subscriptions.services import account_renew
from tests.conftest import SYSTEM, grant
from tests.factories import MembershipFactory

from .conftest import World, member
from .endpoints import ENDPOINTS, OBJECT_URLS, Endpoint

pytestmark = pytest.mark.django_db


def _objects(world: World, reseller_is_other: bool = False) -> dict[str, Any]:
    reseller = world.other if reseller_is_other else world.reseller
    subscriber = world.other_subscriber if reseller_is_other else world.subscriber
    account = world.other_account if reseller_is_other else world.account
    note = note_add(actor=SYSTEM, subscriber=subscriber, body="hello")
    interaction = interaction_add(actor=SYSTEM, subscriber=subscriber, channel="phone",
                                  subject="Slow")
    staff_user = MembershipFactory.create(reseller=reseller, role="viewer").user
    key, _ = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="live",
                            scopes=["accounts:read"])
    with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
        endpoint, _ = webhook_endpoint_create(actor=SYSTEM, reseller=reseller, livemode=True,
                                              url="https://hooks.example/x",
                                              events=["account.renewed"])
    grant(reseller, 5)
    account_renew(actor=SYSTEM, account=account)
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    assert delivery is not None
    outbox = OutboxMessage.objects.filter(reseller=reseller).first()
    assert outbox is not None
    payment = wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=5000, currency="EUR",
                            source="cash", reference="R-0", idempotency_key="world").payment
    return {"outbox": outbox.pk, "subscriber": subscriber.pk, "account": account.pk, "plan": account.plan_id,
            "note": note.pk, "interaction": interaction.pk, "user": staff_user.pk,
            "api_key": key.pk, "endpoint": endpoint.pk, "delivery": delivery.pk,
            "mode": "test", "payment": payment.pk}


def call(client: Client, endpoint: Endpoint, objects: dict[str, Any], world: World) -> Any:
    args = [objects[endpoint.obj]] if endpoint.obj else []
    url = reverse(f"dashboard:{endpoint.name}", args=args)
    data = {k.replace("REFUND", f"refund-{objects.get('payment')}"): (
        world.plan.pk if v == "PLAN" else v) for k, v in endpoint.data}
    return getattr(client, endpoint.method)(url, data)


@pytest.mark.parametrize("role", list(Role.values))
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_role_matrix_on_every_view(world, role, endpoint):
    objects = _objects(world)
    client = Client()
    client.force_login(member(world.reseller, role))
    response = call(client, endpoint, objects, world)
    if role_allows(role, endpoint.perm):
        assert response.status_code not in (403, 404), (role, endpoint.name)
    else:
        assert response.status_code == 403, (role, endpoint.name, response.status_code)


@pytest.mark.parametrize("endpoint", OBJECT_URLS, ids=lambda e: e.name)
def test_another_resellers_object_by_url_is_not_found(world, endpoint):
    objects = _objects(world, reseller_is_other=True)
    client = Client()
    client.force_login(member(world.reseller, "owner"))
    response = call(client, endpoint, objects, world)
    assert response.status_code == 404, endpoint.name


def test_staff_member_of_another_reseller_is_not_found(world):
    objects = _objects(world, reseller_is_other=True)
    client = Client()
    client.force_login(member(world.reseller, "owner"))
    response = client.post(reverse("dashboard:staff_remove", args=[objects["user"]]))
    assert response.status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(world):
    response = Client().get(reverse("dashboard:subscribers"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:signin"))


def test_pages_hide_what_the_role_cannot_do(world, signed_in):
    viewer = signed_in(world.reseller, "viewer")
    page = viewer.get(reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()
    assert "Show credentials" not in page
    assert reverse("dashboard:suspend", args=[world.account.pk]) not in page
    assert reverse("dashboard:settings") not in page
    owner = signed_in(world.reseller, "owner")
    page = owner.get(reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()
    assert "Show credentials" in page
    assert reverse("dashboard:suspend", args=[world.account.pk]) in page
    assert reverse("dashboard:settings") in page


@pytest.mark.parametrize("back", ["//evil.example/x", "/\\evil.example", "https://evil.example/"])
def test_back_links_never_leave_the_panel(world, signed_in, back):
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:suspend", args=[world.account.pk]),
                           {"back": back})
    assert response["Location"] == reverse("dashboard:subscriber", args=[world.subscriber.pk])
