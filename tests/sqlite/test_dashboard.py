"""Every dashboard page and form for an owner signed in with a second factor, on SQLite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.api.models import WebhookDelivery
from apps.api.services import api_key_create, webhook_endpoint_create
from apps.core.dates import add_months
from apps.crm.services import interaction_add, note_add
from apps.notifications.models import OutboxMessage
from apps.payments.charges import wallet_top_up
from apps.subscriptions.models import Plan, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create, account_renew, account_suspend
from tests.conftest import SYSTEM, grant
from tests.dashboard.endpoints import ENDPOINTS, POSTS, Endpoint
from tests.factories import MembershipFactory, PlanFactory, SubscriberFactory

from .conftest import sign_in_with_2fa

pytestmark = pytest.mark.django_db

GETS = [e for e in ENDPOINTS if e.method == "get"]
# Pages again with what changes their queries: search, filters, sorts, htmx partials.
VARIANTS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("subscribers", {"q": "garc"}, {}),
    ("subscribers", {"status": "active", "auto_renew": "yes", "expiring": "30"}, {}),
    ("subscribers", {"pending": "1"}, {}),
    ("subscribers", {"sort": "username"}, {}),
    ("subscribers", {"sort": "newest", "plan": "PLAN"}, {}),
    ("subscribers", {}, {"HTTP_HX_REQUEST": "true"}),
    ("subscribers_export", {"q": "ana"}, {}),
    ("expiring", {"days": "30"}, {}),
    ("billing", {"kind": "activation", "date_from": "2020-01-01", "date_to": "2099-01-01"}, {}),
    ("audit", {"action": "account."}, {}),
    ("settings_template", {"event": "renewal_reminder"}, {}),
    ("settings_template_load", {"event": "expired"}, {"HTTP_HX_REQUEST": "true"}),
]


@dataclass
class World:
    reseller: Reseller
    plan: Plan
    subscriber: Subscriber
    account: ServiceAccount
    objects: dict[str, Any]


@pytest.fixture
def world(reseller: Reseller, settings: Any) -> World:
    """A reseller with something on every page: accounts in several states, CRM rows, keys."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS look-up for the example host
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    grant(reseller, 10)
    subscriber = SubscriberFactory.create(reseller=reseller, name="Ana García")
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan)
    suspended, _ = account_create(actor=SYSTEM, plan=plan,
                                  subscriber=SubscriberFactory.create(reseller=reseller))
    account_suspend(actor=SYSTEM, account=suspended)
    endpoint, _ = webhook_endpoint_create(actor=SYSTEM, reseller=reseller, livemode=True,
                                          url="https://hooks.example/x",
                                          events=["account.renewed"])
    account_renew(actor=SYSTEM, account=account)
    yearly = PlanFactory.create(reseller=reseller, name="Yearly", duration_months=12)
    waiting, _ = account_create(actor=SYSTEM, plan=yearly,
                                subscriber=SubscriberFactory.create(reseller=reseller))
    assert waiting.status == "pending"  # 12 credits needed, 7 left
    key, _ = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="live",
                            scopes=["accounts:read"])
    objects = {
        "subscriber": subscriber.pk, "account": account.pk, "plan": plan.pk,
        "note": note_add(actor=SYSTEM, subscriber=subscriber, body="hello").pk,
        "interaction": interaction_add(actor=SYSTEM, subscriber=subscriber, channel="phone",
                                       subject="Cannot log in").pk,
        "user": MembershipFactory.create(reseller=reseller, role="viewer").user.pk,
        "api_key": key.pk, "endpoint": endpoint.pk,
        "delivery": WebhookDelivery.objects.get(endpoint=endpoint).pk,
        "outbox": OutboxMessage.objects.filter(account=account).first().pk,  # type: ignore[union-attr]
        "mode": "test",
        "payment": wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=5000,
                                 currency="EUR", source="cash", reference="R-0",
                                 idempotency_key="world").payment.pk,
    }
    return World(reseller=reseller, plan=plan, subscriber=subscriber, account=account,
                 objects=objects)


def url(world: World, endpoint: Endpoint) -> str:
    args = [world.objects[endpoint.obj]] if endpoint.obj else []
    return reverse(f"dashboard:{endpoint.name}", args=args)


def data(world: World, values: Any) -> dict[str, Any]:
    refund = f"refund-{world.objects['payment']}"
    return {k.replace("REFUND", refund): (world.plan.pk if v == "PLAN" else v)
            for k, v in dict(values).items()}


@pytest.mark.parametrize("endpoint", GETS, ids=lambda e: e.name)
def test_every_page_renders_for_the_owner(world, endpoint):
    client = sign_in_with_2fa(world.reseller)
    # /settings/ opens its first tab; the template loader without htmx, the templates tab.
    response = client.get(url(world, endpoint), data(world, endpoint.data), follow=True)
    assert response.status_code == 200, response.content[:2000]


@pytest.mark.parametrize(("name", "query", "headers"), VARIANTS,
                         ids=[f"{n}-{'-'.join(q) or 'htmx'}" for n, q, _ in VARIANTS])
def test_pages_with_filters_and_partials_render(world, name, query, headers):
    client = sign_in_with_2fa(world.reseller)
    response = client.get(reverse(f"dashboard:{name}"), data(world, query), **headers)
    assert response.status_code == 200, response.content[:2000]


def test_the_subscriber_page_and_its_partial_render(world):
    client = sign_in_with_2fa(world.reseller)
    page = reverse("dashboard:subscriber", args=[world.subscriber.pk])
    response = client.get(page)
    assert response.status_code == 200
    assert world.account.username in response.content.decode()
    assert client.get(page, {"iq": "log in"}, HTTP_HX_REQUEST="true").status_code == 200


@pytest.mark.parametrize("endpoint", POSTS, ids=lambda e: e.name)
def test_every_form_posts_for_the_owner(world, endpoint):
    client = sign_in_with_2fa(world.reseller)
    response = client.post(url(world, endpoint), data(world, endpoint.data))
    assert response.status_code in (200, 302), (response.status_code, response.content[:2000])


def test_pages_around_the_sign_in_render(world):
    anonymous = Client()
    for name in ("signin", "password_reset", "password_reset_done",
                 "password_reset_complete"):
        assert anonymous.get(reverse(f"dashboard:{name}")).status_code == 200, name
    assert anonymous.get(reverse("dashboard:overview"))["Location"].startswith(
        reverse("dashboard:signin"))
    client = sign_in_with_2fa(world.reseller)
    for name in ("switch", "twofactor_setup"):
        assert client.get(reverse(f"dashboard:{name}")).status_code == 200, name
    assert client.post(reverse("dashboard:signout")).status_code == 302
    assert client.get(reverse("dashboard:overview")).status_code == 302


def test_an_account_through_its_life_in_the_dashboard(world):
    client = sign_in_with_2fa(world.reseller)
    new = {"name": "Carla", "email": "carla@example.net", "plan": world.plan.pk, "months": 1,
           "renewal_source": "complimentary"}
    preview = client.post(reverse("dashboard:account_new"), new)
    assert preview.status_code == 200 and not ServiceAccount.objects.filter(
        subscriber__name="Carla").exists()
    created = client.post(reverse("dashboard:account_new"), {**new, "confirm": "1"})
    assert created.status_code == 200, created.content[:2000]
    account = ServiceAccount.objects.get(subscriber__name="Carla")
    assert (account.status, account.renewal_source) == ("active", "complimentary")

    def post(name: str, **form: Any) -> ServiceAccount:
        response = client.post(reverse(f"dashboard:{name}", args=[account.pk]), form)
        assert response.status_code == 302, response.content[:2000]
        return ServiceAccount.objects.get(pk=account.pk)

    assert account.expires_at is not None
    assert post("renew", months=2).expires_at == add_months(account.expires_at, 2)
    premium = PlanFactory.create(reseller=world.reseller, name="Premium", credit_cost=2)
    page = client.get(reverse("dashboard:subscriber", args=[account.subscriber_id]))
    select = re.search(rf'<select id="cp-when-{account.pk}" name="when">(.*?)</select>',
                       page.content.decode())
    assert select is not None
    # The page offers exactly what the service takes.
    assert re.findall(r'<option value="([^"]+)"', select.group(1)) == ["now", "renewal"]
    assert post("change_plan", plan=premium.pk, when="now").plan_id == premium.pk
    assert post("change_plan", plan=world.plan.pk, when="renewal").next_plan_id == world.plan.pk
    assert post("suspend").status == "suspended"
    assert post("unsuspend").status == "active"
    assert post("terminate", confirm="1").status == "terminated"
    assert post("suspend").status == "terminated"  # refused, with a message


def test_the_search_finds_a_name_as_it_is_written(world):
    client = sign_in_with_2fa(world.reseller)
    for query in ("garcía", "ana g", world.account.username.upper()):
        found = client.get(reverse("dashboard:subscribers"), {"q": query}).content.decode()
        assert world.account.username in found, query


@pytest.mark.xfail(strict=True, reason="SQLite's LIKE folds the case of ASCII letters only; "
                                       "PostgreSQL's UPPER() folds every letter")
def test_the_search_finds_a_name_in_any_case(world):
    client = sign_in_with_2fa(world.reseller)
    found = client.get(reverse("dashboard:subscribers"), {"q": "GARCÍA"}).content.decode()
    assert world.account.username in found
