"""The plan list and form: prices formatted for the reader, typed as people write them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.subscriptions.models import Plan, PlanPrice
from tests.factories import PlanFactory

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


def priced_plan(world, **prices: int) -> Plan:
    plan = world.plan
    for currency, amount in prices.items():
        PlanPrice.objects.create(plan=plan, currency=currency, amount=amount)
    return plan


def spanish(client: Client) -> Client:
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    return client


def prices_of(plan: Plan) -> dict[str, int]:
    return dict(plan.prices.values_list("currency", "amount"))


def error_beside(page: str, field_id: str) -> bool:
    return re.search(rf'id="{field_id}-errors"', page) is not None


def plan_post(**extra: str) -> dict[str, str]:
    return {"name": "Monthly", "duration_months": "1", "credit_cost": "1", **extra}


def test_plans_page_shows_formatted_prices_not_minor_units(world, signed_in):
    priced_plan(world, EUR=900, USD=1000)
    page = signed_in(world.reseller, "viewer").get(reverse("dashboard:plans")).content.decode()
    assert "€9.00 · $10.00" in page
    assert "900 EUR" not in page and "1000 USD" not in page


def test_plans_page_in_spanish_formats_prices_the_spanish_way(world, signed_in):
    priced_plan(world, EUR=900, USD=1000)
    client = spanish(signed_in(world.reseller, "viewer"))
    page = client.get(reverse("dashboard:plans")).content.decode()
    assert f"9,00{NBSP}€ · 10,00{NBSP}US$" in page


def test_plans_page_lists_the_base_currency_first(world, signed_in):
    priced_plan(world, EUR=900, USD=1000)
    world.reseller.base_currency = "USD"
    world.reseller.save(update_fields=["base_currency"])
    page = signed_in(world.reseller, "viewer").get(reverse("dashboard:plans")).content.decode()
    assert "$10.00 · €9.00" in page


def test_plans_page_shows_currencies_of_every_exponent(world, signed_in):
    priced_plan(world, JPY=900, KWD=1234)
    page = signed_in(world.reseller, "viewer").get(reverse("dashboard:plans")).content.decode()
    assert "¥900" in page and "KWD1.234" in page


def test_new_plan_price_typed_the_spanish_way_is_stored_in_minor_units(world, signed_in):
    client = spanish(signed_in(world.reseller, "owner"))
    response = client.post(reverse("dashboard:plan_new"), {
        "name": "Anual", "duration_months": "12", "credit_cost": "12", "price_EUR": "9,00"})
    assert response.status_code == 302
    assert prices_of(Plan.objects.get(reseller=world.reseller, name="Anual")) == {"EUR": 900}


def test_new_plan_price_typed_the_english_way_is_stored_in_minor_units(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:plan_new"), {
        "name": "Yearly", "duration_months": "12", "credit_cost": "12", "price_EUR": "99.50"})
    assert prices_of(Plan.objects.get(reseller=world.reseller, name="Yearly")) == {"EUR": 9950}


def test_new_plan_may_have_no_price(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:plan_new"), {
        "name": "Trial", "duration_months": "1", "credit_cost": "1", "is_trial": "on"})
    assert prices_of(Plan.objects.get(reseller=world.reseller, name="Trial")) == {}


def test_plan_form_shows_every_price_in_the_readers_language_and_names_the_base(
    world, signed_in
):
    plan = priced_plan(world, EUR=900, USD=1000, JPY=1500)
    client = signed_in(world.reseller, "owner")
    page = client.get(reverse("dashboard:plan_edit", args=[plan.pk])).content.decode()
    assert re.search(r'name="price_EUR"[^>]*value="9.00"', page)
    assert re.search(r'name="price_USD"[^>]*value="10.00"', page)
    assert re.search(r'name="price_JPY"[^>]*value="1500"', page)
    assert "Price per period in EUR (base currency)" in page
    assert "Your base currency is EUR" in page
    # The base currency comes first, then the others by code.
    assert page.index('name="price_EUR"') < page.index('name="price_JPY"') \
        < page.index('name="price_USD"')
    page = spanish(client).get(reverse("dashboard:plan_edit", args=[plan.pk])).content.decode()
    assert re.search(r'name="price_EUR"[^>]*value="9,00"', page)
    assert "(moneda base)" in page


def test_editing_one_price_keeps_the_others(world, signed_in):
    plan = priced_plan(world, EUR=900, USD=1000)
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="12.50", price_USD="10.00"))
    assert response.status_code == 302
    assert prices_of(plan) == {"EUR": 1250, "USD": 1000}


def test_adding_a_currency_adds_its_price(world, signed_in):
    plan = priced_plan(world, EUR=900)
    client = spanish(signed_in(world.reseller, "owner"))
    response = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9,00", add_currency="GBP", add_price="8,50"))
    assert response.status_code == 302
    assert prices_of(plan) == {"EUR": 900, "GBP": 850}


def test_removing_a_currency_removes_its_price_and_is_audited(world, signed_in):
    plan = priced_plan(world, EUR=900, USD=1000)
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9.00", price_USD="10.00", remove_USD="on"))
    assert response.status_code == 302
    assert prices_of(plan) == {"EUR": 900}
    audit = AuditEntry.objects.filter(action="plan.update").latest("id")
    assert audit.before is not None and audit.before["prices"] == {"EUR": 900, "USD": 1000}
    assert audit.after is not None and audit.after["prices"] == {"EUR": 900}


def test_removing_the_base_currency_price_keeps_the_row_to_price_it_again(world, signed_in):
    plan = priced_plan(world, EUR=900, USD=1000)
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9.00", remove_EUR="on", price_USD="10.00"))
    assert prices_of(plan) == {"USD": 1000}
    page = client.get(reverse("dashboard:plan_edit", args=[plan.pk])).content.decode()
    assert 'name="price_EUR"' in page and 'name="remove_EUR"' not in page


def test_the_add_row_offers_only_currencies_the_plan_has_not(world, signed_in):
    plan = priced_plan(world, EUR=900, USD=1000)
    page = signed_in(world.reseller, "owner").get(
        reverse("dashboard:plan_edit", args=[plan.pk])).content.decode()
    options = re.search(r'<select name="add_currency".*?</select>', page, re.S)
    assert options is not None
    assert 'value="GBP"' in options.group(0) and 'value="KWD"' in options.group(0)
    assert 'value="EUR"' not in options.group(0) and 'value="USD"' not in options.group(0)


def test_adding_a_currency_the_plan_has_is_refused(world, signed_in):
    plan = priced_plan(world, EUR=900)
    response = signed_in(world.reseller, "owner").post(
        reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
            price_EUR="9.00", add_currency="EUR", add_price="5.00"))
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "id_add_currency")
    assert prices_of(plan) == {"EUR": 900}


@pytest.mark.parametrize(("typed", "message"), [
    ("9.001", "EUR amounts have at most 2 decimals."),
    ("abc", "Write the amount as a number, for example 9.00."),
    ("-5", "The amount cannot be negative."),
    ("99999999999999999", "The amount is too large."),
])
def test_a_bad_price_is_an_error_beside_it_and_nothing_is_saved(
    world, signed_in, typed, message
):
    plan = priced_plan(world, EUR=900)
    response = signed_in(world.reseller, "owner").post(
        reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(name="Renamed",
                                                                  price_EUR=typed))
    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, "id_price_EUR")
    assert message in page
    assert f'value="{typed}"' in page
    plan.refresh_from_db()
    assert plan.name == "Monthly" and prices_of(plan) == {"EUR": 900}


def test_a_bad_price_message_is_in_spanish_for_a_spanish_reader(world, signed_in):
    plan = priced_plan(world, EUR=900)
    client = spanish(signed_in(world.reseller, "owner"))
    page = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9,001")).content.decode()
    assert "Los importes en EUR tienen como máximo 2 decimales." in page


def test_a_whole_number_currency_refuses_decimals(world, signed_in):
    world.reseller.base_currency = "JPY"
    world.reseller.save(update_fields=["base_currency"])
    client = signed_in(world.reseller, "owner")
    response = client.post(reverse("dashboard:plan_new"), {
        "name": "Yen", "duration_months": "1", "credit_cost": "1", "price_JPY": "900.5"})
    assert response.status_code == 400
    assert "JPY amounts are whole numbers, without decimals." in response.content.decode()
    client.post(reverse("dashboard:plan_new"), {
        "name": "Yen", "duration_months": "1", "credit_cost": "1", "price_JPY": "900"})
    assert prices_of(Plan.objects.get(reseller=world.reseller, name="Yen")) == {"JPY": 900}


def test_a_three_decimal_currency_takes_three_decimals(world, signed_in):
    plan = priced_plan(world, EUR=900)
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9.00", add_currency="KWD", add_price="1.234"))
    assert prices_of(plan) == {"EUR": 900, "KWD": 1234}


def test_an_emptied_price_without_remove_is_an_error_not_a_removal(world, signed_in):
    plan = priced_plan(world, EUR=900, USD=1000)
    response = signed_in(world.reseller, "owner").post(
        reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(price_EUR="9.00",
                                                                  price_USD=""))
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "id_price_USD")
    assert "Enter the USD price, or tick Remove." in page
    assert prices_of(plan) == {"EUR": 900, "USD": 1000}


def test_a_price_added_without_its_currency_or_the_other_way_is_an_error(world, signed_in):
    plan = priced_plan(world, EUR=900)
    client = signed_in(world.reseller, "owner")
    page = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9.00", add_price="8.00")).content.decode()
    assert error_beside(page, "id_add_currency")
    page = client.post(reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
        price_EUR="9.00", add_currency="GBP")).content.decode()
    assert error_beside(page, "id_add_price")
    assert "Enter the price in GBP." in page
    assert prices_of(plan) == {"EUR": 900}


def test_a_bad_added_price_is_an_error_beside_it(world, signed_in):
    plan = priced_plan(world, EUR=900)
    page = signed_in(world.reseller, "owner").post(
        reverse("dashboard:plan_edit", args=[plan.pk]), plan_post(
            price_EUR="9.00", add_currency="JPY", add_price="5.5")).content.decode()
    assert error_beside(page, "id_add_price")
    assert "JPY amounts are whole numbers, without decimals." in page
    assert prices_of(plan) == {"EUR": 900}


def test_a_price_added_by_someone_else_meanwhile_is_not_dropped_silently(world, signed_in):
    plan = priced_plan(world, EUR=900)
    client = signed_in(world.reseller, "owner")
    # The form was read with EUR only; USD arrived before it was sent.
    PlanPrice.objects.create(plan=plan, currency="USD", amount=1000)
    response = client.post(reverse("dashboard:plan_edit", args=[plan.pk]),
                           plan_post(price_EUR="9.50"))
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "id_price_USD")
    assert prices_of(plan) == {"EUR": 900, "USD": 1000}


def test_another_resellers_plan_form_is_not_found(world, signed_in):
    other_plan = PlanFactory.create(reseller=world.other, name="Theirs")
    response = signed_in(world.reseller, "owner").post(
        reverse("dashboard:plan_edit", args=[other_plan.pk]), plan_post(price_EUR="1.00"))
    assert response.status_code == 404
    assert prices_of(other_plan) == {}
