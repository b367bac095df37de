"""The provider's admin: every page renders, and every write goes through a service."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.credits.models import CreditLedgerEntry
from apps.payments.charges import wallet_top_up
from apps.payments.services import payment_record
from apps.subscriptions.models import Plan, PlanPrice, ServiceAccount

from .conftest import NOW, SYSTEM
from .factories import PlanFactory, ResellerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider() -> Client:
    client = Client()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "name",
    [
        "admin:index",
        "admin:accounts_reseller_changelist",
        "admin:accounts_reseller_add",
        "admin:accounts_user_changelist",
        "admin:subscriptions_plan_changelist",
        "admin:subscriptions_plan_add",
        "admin:subscriptions_subscriber_changelist",
        "admin:subscriptions_serviceaccount_changelist",
        "admin:subscriptions_accountevent_changelist",
        "admin:subscriptions_pendingoperation_changelist",
        "admin:credits_creditledgerentry_changelist",
        "admin:credits_grant",
        "admin:credits_adjust",
        "admin:audit_auditentry_changelist",
        "admin:payments_externalpayment_changelist",
        "admin:payments_payment_changelist",
        "admin:payments_refund_changelist",
        "admin:payments_walletentry_changelist",
        "admin:payments_stripeevent_changelist",
        "admin:api_webhookdelivery_changelist",
        "admin:otp_totp_totpdevice_changelist",
        "admin:otp_static_staticdevice_changelist",
    ],
)
def test_provider_pages_render(provider: Client, active_account, name: str) -> None:
    assert provider.get(reverse(name)).status_code == 200


def test_object_pages_render(provider: Client, active_account) -> None:
    for name, obj in [
        ("admin:accounts_reseller_change", active_account.reseller),
        ("admin:subscriptions_serviceaccount_change", active_account),
        ("admin:subscriptions_subscriber_change", active_account.subscriber),
        ("admin:subscriptions_plan_change", active_account.plan),
    ]:
        response = provider.get(reverse(name, args=[obj.pk]))
        assert response.status_code == 200, name
    assert b"password_encrypted" not in provider.get(
        reverse("admin:subscriptions_serviceaccount_change", args=[active_account.pk])
    ).content


def test_grant_form_adds_credits_once_even_when_submitted_twice(provider: Client, reseller):
    data = {"reseller": reseller.pk, "amount": 50, "reference": "INV-9", "price_amount": "25.00",
            "price_currency": "EUR", "livemode": "on", "idempotency_key": "form-1"}
    for _ in range(2):
        response = provider.post(reverse("admin:credits_grant"), data)
        assert response.status_code == 302
    reseller.refresh_from_db()
    assert reseller.credit_balance == 50
    assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == 1


def test_grant_form_shows_errors_beside_the_field(provider: Client, reseller) -> None:
    response = provider.post(reverse("admin:credits_grant"), {
        "reseller": reseller.pk, "amount": 0, "reference": "", "idempotency_key": "k",
    })
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"amount", "reference"}
    assert not CreditLedgerEntry.objects.exists()


def test_ledger_rows_have_no_change_or_delete_in_the_admin(provider: Client, active_account):
    entry = CreditLedgerEntry.objects.first()
    assert entry is not None
    response = provider.post(
        reverse("admin:credits_creditledgerentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert CreditLedgerEntry.objects.filter(pk=entry.pk).exists()


def test_reseller_add_form_validates_through_the_service(provider: Client, db) -> None:
    response = provider.post(reverse("admin:accounts_reseller_add"), {
        "name": "Acme", "slug": "acme", "base_currency": "EUR", "timezone": "Nowhere/City",
        "contact_email": "a@acme.example", "reactivation_policy": "from_expiry",
        "is_active": "on", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert not Reseller.objects.exists()


def test_suspend_action_goes_through_the_service(provider: Client, active_account) -> None:
    response = provider.post(reverse("admin:subscriptions_serviceaccount_changelist"), {
        "action": "suspend", "_selected_action": [active_account.pk],
    })
    assert response.status_code == 302
    account = ServiceAccount.objects.get(pk=active_account.pk)
    assert account.status == "suspended"
    assert account.events.filter(action="suspend", actor_user__isnull=False).exists()


def options_of(html: str, name: str) -> list[str]:
    """The option values of the <select name=...> on the page, in order."""
    match = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert match, name
    return re.findall(r'<option value="([^"]*)"', match.group(1))


def test_every_model_has_a_plural_that_reads_as_english() -> None:
    # "Webhook deliverys": Django only adds an "s" unless the model says better.
    for model in apps.get_models():
        singular = str(model._meta.verbose_name)
        plural = str(model._meta.verbose_name_plural)
        wrong = plural == f"{singular}s" and re.search(r"([^aeiou]y|s|sh|ch|x)$", singular)
        assert not wrong, (model._meta.label, plural)
    assert apps.get_model("api", "WebhookDelivery")._meta.verbose_name_plural == (
        "webhook deliveries")


def test_the_admin_index_names_the_two_factor_and_lockout_apps_in_words(provider: Client) -> None:
    page = provider.get(reverse("admin:index")).content.decode()
    assert "Two-factor: authenticator apps" in page
    assert "Two-factor: recovery codes" in page
    assert "Sign-in lockouts (django-axes)" in page
    assert "Otp_Totp" not in page and "Otp_Static" not in page
    assert "Webhook deliveries" in page and "Webhook deliverys" not in page


def test_reseller_page_links_to_the_grant_form_for_that_reseller(provider: Client,
                                                                 reseller) -> None:
    page = provider.get(reverse("admin:accounts_reseller_change", args=[reseller.pk]))
    grant = f'{reverse("admin:credits_grant")}?reseller={reseller.pk}'
    assert f'href="{grant}"' in page.content.decode()

    form = provider.get(grant).content.decode()
    assert re.search(rf'<option value="{reseller.pk}" selected>', form)
    assert 'id="for-reseller"' in form


def test_grant_from_the_reseller_page_adds_credits_and_returns_there(provider: Client,
                                                                    reseller) -> None:
    response = provider.post(
        f'{reverse("admin:credits_grant")}?reseller={reseller.pk}',
        {"reseller": reseller.pk, "amount": 30, "reference": "INV-30", "price_amount": "13.50",
         "price_currency": "EUR", "livemode": "on", "idempotency_key": "from-reseller-page"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_reseller_change", args=[reseller.pk])
    reseller.refresh_from_db()
    assert reseller.credit_balance == 30


def test_grant_form_offers_the_currencies_in_use_with_the_resellers_own_first(
    provider: Client, db
) -> None:
    ResellerFactory.create(base_currency="EUR")
    usd = ResellerFactory.create(base_currency="USD")
    form = provider.get(f'{reverse("admin:credits_grant")}?reseller={usd.pk}').content.decode()
    assert options_of(form, "price_currency") == ["", "USD", "EUR"]
    assert re.search(r'<option value="USD" selected>', form)


def test_grant_form_refuses_a_currency_no_reseller_uses(provider: Client, reseller) -> None:
    response = provider.post(reverse("admin:credits_grant"), {
        "reseller": reseller.pk, "amount": 5, "reference": "INV-5", "price_amount": "5",
        "price_currency": "XAF", "idempotency_key": "odd-currency",
    })
    assert response.status_code == 200
    assert "price_currency" in response.context["form"].errors
    assert not CreditLedgerEntry.objects.exists()


def test_plan_price_currencies_are_the_resellers_then_those_in_use(provider: Client,
                                                                  db) -> None:
    ResellerFactory.create(base_currency="GBP")
    reseller = ResellerFactory.create(base_currency="USD")
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    PlanPrice.objects.create(plan=plan, currency="MXN", amount=9900)
    page = provider.get(reverse("admin:subscriptions_plan_change", args=[plan.pk]))
    currencies = options_of(page.content.decode(), "prices-0-currency")
    assert currencies == ["", "USD", "MXN", "GBP"]


def test_reseller_base_currency_lists_those_in_use_first(provider: Client, db) -> None:
    ResellerFactory.create(base_currency="USD")
    page = provider.get(reverse("admin:accounts_reseller_add")).content.decode()
    currencies = options_of(page, "base_currency")
    assert currencies[0] == "USD"
    assert '<optgroup label="In use">' in page
    assert len(currencies) > 100  # a new reseller may bring a new currency


def test_external_payments_are_not_edited_in_the_admin(provider: Client, db) -> None:
    assert provider.get(reverse("admin:payments_externalpayment_add")).status_code == 403


def grant_data(reseller: Reseller, **changes: object) -> dict[str, object]:
    return {"reseller": reseller.pk, "amount": 50, "reference": "INV-50",
            "price_currency": "EUR", "livemode": "on", "idempotency_key": "money-form",
            **changes}


@pytest.mark.parametrize("written", ["12,50", "12.50", "12.5", "€12.50"])
def test_grant_form_takes_the_price_as_written_and_stores_minor_units(
    provider: Client, reseller, written: str
) -> None:
    response = provider.post(reverse("admin:credits_grant"),
                             grant_data(reseller, price_amount=written))
    assert response.status_code == 302
    entry = CreditLedgerEntry.objects.get(reseller=reseller)
    assert (entry.price_amount, entry.price_currency) == (1250, "EUR")


def test_grant_form_reads_the_price_in_the_chosen_currencys_exponent(provider: Client,
                                                                    reseller) -> None:
    ResellerFactory.create(base_currency="JPY")
    response = provider.post(reverse("admin:credits_grant"),
                             grant_data(reseller, price_amount="1250", price_currency="JPY"))
    assert response.status_code == 302
    assert CreditLedgerEntry.objects.get().price_amount == 1250  # yen have no minor unit


@pytest.mark.parametrize(("currency", "written", "message"), [
    ("EUR", "12.505", "EUR amounts have at most 2 decimals."),
    ("EUR", "twelve", "Write the amount as a number, for example 9.00."),
    ("EUR", "-5", "The amount cannot be negative."),
    ("JPY", "12.5", "JPY amounts are whole numbers, without decimals."),
])
def test_grant_form_refuses_a_bad_price_beside_the_field_and_writes_nothing(
    provider: Client, reseller, currency: str, written: str, message: str
) -> None:
    ResellerFactory.create(base_currency="JPY")
    response = provider.post(reverse("admin:credits_grant"), grant_data(
        reseller, price_amount=written, price_currency=currency))
    assert response.status_code == 200
    assert response.context["form"].errors["price_amount"] == [message]
    assert message in response.content.decode()
    assert not CreditLedgerEntry.objects.exists()
    reseller.refresh_from_db()
    assert reseller.credit_balance == 0


def test_grant_form_asks_for_the_currency_of_a_price_without_one(provider: Client,
                                                                reseller) -> None:
    response = provider.post(reverse("admin:credits_grant"),
                             grant_data(reseller, price_amount="12.50", price_currency=""))
    assert response.status_code == 200
    assert response.context["form"].errors["price_currency"] == [
        "Choose the currency of this amount."]
    assert not CreditLedgerEntry.objects.exists()


def test_grant_form_keeps_a_refused_price_as_typed(provider: Client, reseller) -> None:
    page = provider.post(reverse("admin:credits_grant"), grant_data(
        reseller, price_amount="12,50", reference="")).content.decode()
    assert 'name="price_amount" value="12,50"' in page


def test_ledger_list_and_entry_show_the_price_formatted(provider: Client, reseller) -> None:
    provider.post(reverse("admin:credits_grant"), grant_data(reseller, price_amount="12,50"))
    entry = CreditLedgerEntry.objects.get()
    listing = provider.get(reverse("admin:credits_creditledgerentry_changelist")).content.decode()
    assert "€12.50" in listing
    assert ">1250<" not in listing
    detail = provider.get(reverse("admin:credits_creditledgerentry_change", args=[entry.pk]))
    assert "€12.50" in detail.content.decode()


def test_ledger_list_shows_the_price_in_the_viewers_language(provider: Client,
                                                             reseller) -> None:
    provider.post(reverse("admin:credits_grant"), grant_data(reseller, price_amount="12,50"))
    listing = provider.get(reverse("admin:credits_creditledgerentry_changelist"),
                           headers={"accept-language": "es"}).content.decode()
    assert "12,50\xa0€" in listing


def test_external_payments_list_and_page_show_the_amount_formatted(provider: Client,
                                                                   active_account) -> None:
    result = payment_record(actor=SYSTEM, reseller=active_account.reseller, livemode=True,
                            account_id=active_account.pk, amount=1250, currency="EUR",
                            reference="WHMCS-77", paid_at=NOW, now=NOW)
    listing = provider.get(reverse("admin:payments_externalpayment_changelist")).content.decode()
    assert "€12.50" in listing
    assert ">1250<" not in listing
    payment = result.payment
    detail = provider.get(reverse("admin:payments_externalpayment_change", args=[payment.pk]))
    assert "€12.50" in detail.content.decode()


def plan_post(plan: Plan, rows: list[dict[str, str]], initial: int) -> dict[str, object]:
    data: dict[str, object] = {
        "name": plan.name, "tier": plan.tier, "credit_cost": plan.credit_cost,
        "prices-TOTAL_FORMS": len(rows), "prices-INITIAL_FORMS": initial,
        "prices-MIN_NUM_FORMS": 0, "prices-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        data |= {f"prices-{i}-{key}": value for key, value in row.items()}
        data[f"prices-{i}-plan"] = plan.pk
    return data


def test_plan_price_inline_shows_and_takes_prices_as_written(provider: Client, db) -> None:
    reseller = ResellerFactory.create(base_currency="EUR")
    ResellerFactory.create(base_currency="JPY")
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    price = PlanPrice.objects.create(plan=plan, currency="EUR", amount=900)
    url = reverse("admin:subscriptions_plan_change", args=[plan.pk])
    page = provider.get(url).content.decode()
    assert 'name="prices-0-amount" value="9.00"' in page

    response = provider.post(url, plan_post(plan, [
        {"id": str(price.pk), "currency": "EUR", "amount": "12,50"},
        {"id": "", "currency": "JPY", "amount": "1500"},
    ], initial=1))
    assert response.status_code == 302, response.context["inline_admin_formsets"][0].formset.errors
    assert dict(plan.prices.values_list("currency", "amount")) == {"EUR": 1250, "JPY": 1500}
    page = provider.get(url).content.decode()
    assert 'name="prices-0-amount" value="12.50"' in page
    assert 'name="prices-1-amount" value="1500"' in page


def test_plan_price_inline_refuses_too_many_decimals_for_the_rows_currency(
    provider: Client, db
) -> None:
    reseller = ResellerFactory.create(base_currency="EUR")
    ResellerFactory.create(base_currency="JPY")
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    price = PlanPrice.objects.create(plan=plan, currency="EUR", amount=900)
    url = reverse("admin:subscriptions_plan_change", args=[plan.pk])
    response = provider.post(url, plan_post(plan, [
        {"id": str(price.pk), "currency": "EUR", "amount": "12.505"},
        {"id": "", "currency": "JPY", "amount": "15.5"},
    ], initial=1))
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert errors[0]["amount"] == ["EUR amounts have at most 2 decimals."]
    assert errors[1]["amount"] == ["JPY amounts are whole numbers, without decimals."]
    assert dict(plan.prices.values_list("currency", "amount")) == {"EUR": 900}


def test_plan_list_shows_each_plans_prices_formatted_base_first(provider: Client, db) -> None:
    reseller = ResellerFactory.create(base_currency="USD")
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    PlanPrice.objects.create(plan=plan, currency="EUR", amount=900)
    PlanPrice.objects.create(plan=plan, currency="USD", amount=1000)
    listing = provider.get(reverse("admin:subscriptions_plan_changelist")).content.decode()
    assert "$10.00 · €9.00" in listing


def test_plan_list_queries_do_not_grow_with_plans(provider: Client, db) -> None:
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            provider.get(reverse("admin:subscriptions_plan_changelist"))
        return len(captured.captured_queries)

    reseller = ResellerFactory.create()
    PlanPrice.objects.create(plan=PlanFactory.create(reseller=reseller), currency="EUR",
                             amount=900)
    few = page_queries()
    for _ in range(5):
        other = PlanFactory.create(reseller=ResellerFactory.create())
        PlanPrice.objects.create(plan=other, currency="EUR", amount=900)
    assert page_queries() == few


def test_payments_and_wallet_rows_show_in_the_admin_and_are_never_edited(
        provider: Client, active_account) -> None:
    subscriber = active_account.subscriber
    payment = wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=1250, currency="EUR",
                            source="cash", reference="CASH-7", idempotency_key="admin-1").payment
    listed = provider.get(reverse("admin:payments_payment_changelist")).content.decode()
    assert "€12.50" in listed
    ledger = provider.get(reverse("admin:payments_walletentry_changelist")).content.decode()
    assert "€12.50" in ledger
    page = provider.get(reverse("admin:payments_payment_change", args=[payment.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert provider.post(reverse("admin:payments_payment_delete", args=[payment.pk]),
                         {"post": "yes"}).status_code == 403
