"""Amounts outside the plan pages: the ledger CSV and the subscriber's payments."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.credits.services import credits_grant
from apps.payments.services import payment_record
from tests.conftest import SYSTEM, grant

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"


def ledger_rows(client) -> list[dict[str, str]]:
    response = client.get(reverse("dashboard:ledger_csv"))
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_ledger_csv_gives_the_price_paid_as_a_decimal_beside_its_currency(world, signed_in):
    credits_grant(actor=SYSTEM, reseller=world.reseller, amount=10, reference="INV-9",
                  idempotency_key="grant-priced", price_amount=4500, price_currency="EUR")
    credits_grant(actor=SYSTEM, reseller=world.reseller, amount=10, reference="INV-10",
                  idempotency_key="grant-yen", price_amount=5000, price_currency="JPY")
    rows = ledger_rows(signed_in(world.reseller, "billing"))
    by_reference = {row["reference"]: row for row in rows}
    assert (by_reference["INV-9"]["price_paid_decimal"],
            by_reference["INV-9"]["price_currency"]) == ("45.00", "EUR")
    assert by_reference["INV-10"]["price_paid_decimal"] == "5000"
    # Rows that paid nothing (activations, grants without a price) leave both empty.
    unpriced = [row for row in rows if row["reference"] not in ("INV-9", "INV-10")]
    assert unpriced and all(row["price_paid_decimal"] == row["price_currency"] == ""
                            for row in unpriced)


def test_subscriber_payments_show_the_amount_in_the_readers_language(world, signed_in):
    grant(world.reseller, 5)
    payment_record(actor=SYSTEM, reseller=world.reseller, livemode=True,
                   account_id=world.account.pk, amount=999, currency="EUR",
                   reference="INV-2001", paid_at=timezone.now())
    client = signed_in(world.reseller, "billing")
    url = reverse("dashboard:subscriber", args=[world.subscriber.pk])
    assert "€9.99" in client.get(url).content.decode()
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    page = client.get(url).content.decode()
    assert f"9,99{NBSP}€" in page and "9.99 EUR" not in page
