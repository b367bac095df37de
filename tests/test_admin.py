"""The provider's admin: every page renders, and every write goes through a service."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import PlanPrice, ServiceAccount

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
    data = {"reseller": reseller.pk, "amount": 50, "reference": "INV-9", "price_amount": 2500,
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
        {"reseller": reseller.pk, "amount": 30, "reference": "INV-30", "price_amount": 1350,
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
        "reseller": reseller.pk, "amount": 5, "reference": "INV-5", "price_amount": 500,
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
