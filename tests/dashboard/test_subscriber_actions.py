"""The subscriber page: each account action in its own small form, an auto-renewal
switch, termination behind a confirmation, and how the account renews in words."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.subscriptions.models import AccountEvent, ServiceAccount
from apps.subscriptions.services import account_create, account_expire, account_suspend
from tests.conftest import SYSTEM, grant

from .conftest import make_account

pytestmark = pytest.mark.django_db


def page_of(client, world) -> str:
    return client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()


def account_card(page: str, account: ServiceAccount) -> str:
    found = re.search(rf'<article class="card account" id="account-{account.pk}">.*?</article>',
                      page, re.S)
    assert found is not None
    return found.group(0)


def legends(card: str) -> list[str]:
    return re.findall(r"<legend>([^<]+)</legend>", card)


def test_each_action_is_its_own_small_form_under_its_own_heading(world, signed_in):
    card = account_card(page_of(signed_in(world.reseller, "owner"), world), world.account)
    assert legends(card) == ["Renew", "Change plan", "Auto-renewal settings", "Suspend",
                             "Password and welcome email", "Terminate"]
    # One form per action: no form carries two actions' buttons.
    for form in re.findall(r"<form .*?</form>", card, re.S):
        assert len(re.findall(r'<button type="submit"', form)) == 1, form


def test_a_suspended_account_with_paid_time_left_offers_unsuspend(world, signed_in):
    account_suspend(actor=SYSTEM, account=world.account)
    card = account_card(page_of(signed_in(world.reseller, "owner"), world), world.account)
    assert "Unsuspend" in legends(card) and "Suspend" not in legends(card)
    assert reverse("dashboard:unsuspend", args=[world.account.pk]) in card
    assert "The paid period is over" not in card


def test_a_suspended_account_past_its_period_says_to_renew_instead(world, signed_in):
    grant(world.reseller, 1)
    old, _ = account_create(actor=SYSTEM, subscriber=world.subscriber, plan=world.plan,
                            now=timezone.now() - dt.timedelta(days=45))
    account_expire(actor=SYSTEM, account=old)
    account_suspend(actor=SYSTEM, account=old)
    card = account_card(page_of(signed_in(world.reseller, "owner"), world), old)
    assert "The paid period is over: renew to reactivate." in card
    assert 'name="reason"' not in card.split("Unsuspend</legend>")[1].split("</form>")[0]
    assert reverse("dashboard:renew", args=[old.pk]) in card


def test_the_auto_renewal_switch_turns_it_off_and_on_through_the_service(world, signed_in):
    client = signed_in(world.reseller, "billing")
    card = account_card(page_of(client, world), world.account)
    assert re.search(r'role="switch" aria-checked="true"', card)
    assert reverse("dashboard:auto_renew", args=[world.account.pk]) in card
    response = client.post(reverse("dashboard:auto_renew", args=[world.account.pk]),
                           {"auto_renew": "0"}, follow=True)
    assert "Auto-renewal is off: the account runs to its expiry." in response.content.decode()
    assert ServiceAccount.objects.get(pk=world.account.pk).auto_renew is False
    assert AccountEvent.objects.filter(account=world.account, action="set_auto_renew").exists()
    card = account_card(page_of(client, world), world.account)
    assert re.search(r'role="switch" aria-checked="false"', card)
    assert 'name="auto_renew" value="1"' in card  # the switch now turns it back on
    client.post(reverse("dashboard:auto_renew", args=[world.account.pk]), {"auto_renew": "1"})
    assert ServiceAccount.objects.get(pk=world.account.pk).auto_renew is True


def test_the_auto_renewal_switch_refuses_a_value_that_is_not_on_or_off(world, signed_in):
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:auto_renew", args=[world.account.pk]),
                           {"auto_renew": "maybe"}, follow=True)
    assert "Choose on or off." in response.content.decode()
    assert ServiceAccount.objects.get(pk=world.account.pk).auto_renew is True


def test_a_role_without_the_right_sees_auto_renewal_as_text_not_a_switch(world, signed_in):
    card = account_card(page_of(signed_in(world.reseller, "viewer"), world), world.account)
    assert 'role="switch"' not in card
    assert re.search(r'<span data-testid="auto-renew">On</span>', card)
    assert "<form" not in card


def test_terminate_without_ticking_the_confirmation_is_refused_with_a_message(world,
                                                                             signed_in):
    client = signed_in(world.reseller, "owner")
    card = account_card(page_of(client, world), world.account)
    assert re.search(r'<input type="checkbox" id="terminate-confirm-\d+" name="confirm" '
                     r'value="1" required>', card)
    response = client.post(reverse("dashboard:terminate", args=[world.account.pk]),
                           {"reason": "asked to"}, follow=True)
    assert "Tick the box to confirm the termination." in response.content.decode()
    assert ServiceAccount.objects.get(pk=world.account.pk).status == "active"
    client.post(reverse("dashboard:terminate", args=[world.account.pk]),
                {"reason": "asked to", "confirm": "1"})
    assert ServiceAccount.objects.get(pk=world.account.pk).status == "terminated"
    event = AccountEvent.objects.get(account=world.account, action="terminate")
    assert event.reason == "asked to"


def test_a_terminated_account_offers_no_actions(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:terminate", args=[world.account.pk]), {"confirm": "1"})
    card = account_card(page_of(client, world), world.account)
    assert legends(card) == [] and 'role="switch"' not in card


def test_how_it_renews_reads_as_a_sentence(world, signed_in):
    client = signed_in(world.reseller, "owner")
    card = account_card(page_of(client, world), world.account)
    assert re.search(r'data-testid="renewal-source">Renewed by my billing system, through the '
                     r'API<', card)
    assert "Renews By" not in card
    client.post(reverse("dashboard:renewal_source", args=[world.account.pk]),
                {"renewal_source": "complimentary"})
    card = account_card(page_of(client, world), world.account)
    assert re.search(r'data-testid="renewal-source">Renewed on my credits, automatically<',
                     card)


def test_the_account_reads_in_spanish(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    page = page_of(client, world)
    card = account_card(page, world.account)
    assert "Se renueva desde mi sistema de facturación, por la API" in card
    assert "Renovación automática" in card and "Contraseña y correo de bienvenida" in card
    assert "Sí, dar de baja esta cuenta para siempre" in card
    # The history names the statuses in Spanish too, not by their codes.
    history = page.split('id="history"')[1].split("</section>")[0]
    assert "Activa" in history and "→ active" not in history


def test_the_subscriber_page_keeps_a_bounded_number_of_queries_with_more_accounts(
        world, signed_in, django_assert_max_num_queries):
    client = signed_in(world.reseller, "owner")
    with django_assert_max_num_queries(60) as few:
        page_of(client, world)
    grant(world.reseller, 5)
    for _ in range(5):
        make_account(world.reseller, world.plan, world.subscriber)
    later = make_account(world.reseller, world.plan, world.subscriber)
    later.next_plan = world.plan
    later.save(update_fields=["next_plan"])
    assert later.expires_at is not None and later.expires_at > timezone.now()
    with django_assert_max_num_queries(len(few.captured_queries)):
        page_of(client, world)
