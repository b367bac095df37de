"""The payment receipt's amount is formatted in the email's language when it is rendered."""

from __future__ import annotations

import pytest
from django.utils import translation

from apps.notifications.models import OutboxMessage
from apps.notifications.rendering import SAMPLE_CONTEXT, render_event, template_preview
from apps.payments.collectors import Collection
from apps.payments.services import renewal_collected
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, grant

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"


def receipt_for(reseller, plan, subscriber, *, amount: int, currency: str) -> OutboxMessage:
    grant(reseller, 5, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert account.expires_at is not None
    renewal_collected(actor=SYSTEM, account=account, period=account.expires_at,
                      collection=Collection(ok=True, amount=amount, currency=currency,
                                            reference="pay_1"), now=NOW)
    return OutboxMessage.objects.get(account=account, event="payment_receipt")


def test_the_receipt_shows_the_amount_formatted_in_english(reseller, plan, subscriber):
    receipt = receipt_for(reseller, plan, subscriber, amount=999, currency="EUR")
    with translation.override("en"):
        assert "We received €9.99 for your" in receipt.text


def test_the_receipt_to_a_spanish_subscriber_shows_the_amount_the_spanish_way(
    reseller, plan, subscriber
):
    # Queued while English was active: the row keeps the figures, and the email is in
    # the subscriber's language whatever the request's.
    subscriber.language = "es"
    subscriber.save(update_fields=["language"])
    with translation.override("en"):
        receipt = receipt_for(reseller, plan, subscriber, amount=999, currency="EUR")
        assert f"9,99{NBSP}€" in receipt.text
        assert "9.99 EUR" not in receipt.text


def test_the_receipt_uses_the_currencys_exponent(reseller, plan, subscriber):
    receipt = receipt_for(reseller, plan, subscriber, amount=1500, currency="JPY")
    with translation.override("en"):
        assert "We received ¥1,500 for your" in receipt.text


def test_a_resellers_template_can_use_the_amounts_figures(reseller):
    context = {**SAMPLE_CONTEXT, "amount_minor": 1234, "currency": "KWD"}
    rendered = render_event(reseller.pk, "payment_receipt", context, language="es")
    assert f"1,234{NBSP}KWD" in rendered.text


def test_the_template_preview_shows_a_formatted_sample_amount(reseller):
    with translation.override("en"):
        assert "€9.99" in template_preview(reseller.pk, "payment_receipt").text
