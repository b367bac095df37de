"""The provider's admin: every page renders, and every write goes through a service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import ServiceAccount

from .factories import UserFactory

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
