"""New account: the existing subscriber is found by name, email or external id (htmx), and
picked into a hidden field, instead of typed as a bare id; the plans read as words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import subscriber_search
from apps.subscriptions.services import plan_create
from tests.conftest import SYSTEM
from tests.factories import SubscriberFactory

pytestmark = pytest.mark.django_db


def search(client, q: str) -> str:
    response = client.get(reverse("dashboard:account_subscriber_search"), {"q": q},
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def picked(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-subscriber-id="(\d+)"', body)]


@pytest.mark.parametrize("query", ["garc", "GARCÍA", "ana.g@", "WH-1001"])
def test_finds_a_subscriber_by_name_email_or_external_id(world, signed_in, query):
    world.subscriber.email = "ana.g@example.com"
    world.subscriber.external_id = "WH-1001"
    world.subscriber.save()
    body = search(signed_in(world.reseller, "billing"), query)
    assert picked(body) == [world.subscriber.pk], query
    assert "ana.g@example.com" in body


def test_the_external_id_matches_whole_not_in_part(world, signed_in):
    world.subscriber.external_id = "WH-1001"
    world.subscriber.save()
    assert picked(search(signed_in(world.reseller, "owner"), "WH-10")) == []


def test_another_resellers_subscribers_are_never_found(world, signed_in):
    body = search(signed_in(world.reseller, "owner"), world.other_subscriber.name)
    assert world.other_subscriber.pk not in picked(body)
    assert "No subscriber matches" in body


def test_a_query_under_two_characters_asks_for_more_and_searches_nothing(
        world, signed_in, django_assert_max_num_queries):
    client = signed_in(world.reseller, "owner")
    body = search(client, "a")
    assert "Type at least 2 characters." in body and picked(body) == []
    assert subscriber_search(world.reseller, actor=SYSTEM, query=" a ") == []


def test_at_most_ten_matches_in_a_bounded_number_of_queries(world, signed_in,
                                                           django_assert_max_num_queries):
    client = signed_in(world.reseller, "owner")
    SubscriberFactory.create_batch(3, reseller=world.reseller, name="Zed Example")
    with django_assert_max_num_queries(20) as few:
        assert len(picked(search(client, "zed"))) == 3
    SubscriberFactory.create_batch(30, reseller=world.reseller, name="Zed Example")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(picked(search(client, "zed"))) == 10


def test_the_new_account_form_picks_into_a_hidden_field_beside_the_search(world, signed_in):
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:account_new")).content.decode()
    assert '<input type="hidden" name="subscriber" id="id_subscriber">' in page
    assert 'hx-get="{}"'.format(reverse("dashboard:account_subscriber_search")) in page
    assert "Existing subscriber (id)" not in page
    assert re.search(r'<p class="chosen" data-chosen\s+hidden>', page)


def test_coming_from_the_subscriber_page_shows_who_is_chosen(world, signed_in):
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:account_new"), {"subscriber": world.subscriber.pk}).content.decode()
    assert f'name="subscriber" value="{world.subscriber.pk}"' in page
    chosen = re.search(r'<strong data-chosen-label>(.*?)</strong>', page, re.S)
    assert chosen is not None and world.subscriber.name in chosen.group(1)


def test_another_resellers_subscriber_in_the_link_is_not_shown(world, signed_in):
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:account_new"),
        {"subscriber": world.other_subscriber.pk}).content.decode()
    assert world.other_subscriber.name not in page


def test_the_picked_subscriber_gets_the_account(world, signed_in):
    client = signed_in(world.reseller, "owner")
    preview = client.post(reverse("dashboard:account_new"), {
        "subscriber": world.subscriber.pk, "plan": world.plan.pk, "months": 1})
    assert f"For {world.subscriber.name}." in preview.content.decode()
    assert "This account needs 1 credit (Monthly)." in preview.content.decode()
    client.post(reverse("dashboard:account_new"), {
        "subscriber": world.subscriber.pk, "plan": world.plan.pk, "months": 1, "confirm": "1"})
    assert ServiceAccount.objects.filter(subscriber=world.subscriber).count() == 2


def test_revealed_credentials_have_copy_buttons_with_a_label(world, signed_in):
    body = signed_in(world.reseller, "support").post(
        reverse("dashboard:reveal", args=[world.account.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    buttons = re.findall(r'<button type="button" class="secondary copy" data-copy="([^"]*)" '
                         r'data-copied-text="Copied" aria-label="([^"]+)">Copy</button>', body)
    assert [label for _, label in buttons] == ["Copy the username", "Copy the password"]
    assert buttons[0][0] == world.account.username
    assert "<script" not in body


def _plan_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*id="id_plan"[^>]*>(.*?)</select>', page, re.S)
    assert select is not None
    return [label for _, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>',
                                              select.group(1))]


@pytest.mark.parametrize(("language", "expected"), [
    ("en", ["Monthly · 1 month · 1 credit", "Yearly · 12 months · 10 credits"]),
    ("es", ["Monthly · 1 mes · 1 crédito", "Yearly · 12 meses · 10 créditos"]),
])
def test_new_account_plans_read_as_words_with_plurals_in_both_languages(
        world, signed_in, language, expected):
    plan_create(actor=SYSTEM, reseller=world.reseller, name="Yearly", duration_months=12,
                credit_cost=10)
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:account_new"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert sorted(_plan_options(page)) == expected
