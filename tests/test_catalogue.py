"""The event catalogue: one definition per domain event, read back as it was written."""

from __future__ import annotations

import dataclasses

import pytest

from apps.core import catalogue
from apps.core.catalogue import EVENT_TYPES, WEBHOOK_TYPES

CHANGED = catalogue.AccountChanged(
    account_id=1, subscriber_id=2, event_id=3, from_status="active", to_status="grace",
    now="2026-12-02T10:00:00.123456+00:00")
SAMPLES: dict[type[catalogue.Payload], catalogue.Payload] = {
    catalogue.AccountChanged: CHANGED,
    catalogue.ActivationQueued: catalogue.ActivationQueued(
        account_id=1, subscriber_id=2, event_id=3, credits=12, now="2026-12-02T10:00:00+00:00"),
    catalogue.ReminderDue: catalogue.ReminderDue(
        account_id=1, offset_days=3, now="2026-12-02T10:00:00+00:00", dedupe_key="reminder:1"),
    catalogue.PaymentFailed: catalogue.PaymentFailed(
        account_id=1, now="2026-12-02T10:00:00+00:00", error="declined", dedupe_key="d:1"),
    catalogue.PaymentReceived: catalogue.PaymentReceived(
        account_id=1, now="2026-12-02T10:00:00+00:00", dedupe_key="r:1", amount=900,
        currency="EUR", amount_display="€9.00"),
    catalogue.PaymentRecorded: catalogue.PaymentRecorded(
        payment_id=5, account_id=1, amount=900, currency="EUR", reference="whmcs-1",
        renewal="completed"),
    catalogue.CreditFloor: catalogue.CreditFloor(
        balance=4, floor=10, crossing=1, recipients=["a@example.com"], needed_7_days=3,
        needed_30_days=9, now="2026-12-02T10:00:00+00:00"),
    catalogue.CreditsArrived: catalogue.CreditsArrived(now="2026-12-02T10:00:00+00:00"),
    catalogue.PaymentChanged: catalogue.PaymentChanged(
        payment_id=5, subscriber_id=2, account_id=1, source="card", purpose="renewal",
        state="failed", amount=900, currency="EUR", refunded_amount=0,
        now="2026-12-02T10:00:00+00:00", dedupe_key="payment:5:failed",
        amount_display="€9.00", action_url="https://panel.example.com/pay/x",
        error="declined"),
    catalogue.PaymentDisputed: catalogue.PaymentDisputed(
        payment_id=5, subscriber_id=2, account_id=1, amount=900, currency="EUR",
        reason="fraudulent", now="2026-12-02T10:00:00+00:00", dedupe_key="dispute:5"),
}


@pytest.mark.parametrize("event_type", EVENT_TYPES.values(), ids=list(EVENT_TYPES))
def test_every_event_reads_back_the_payload_it_was_published_with(event_type):
    payload = SAMPLES[event_type.payload]
    event = event_type.event(reseller_id=7, livemode=False, payload=payload)
    assert (event.name, event.reseller_id, event.livemode) == (event_type.name, 7, False)
    assert event.payload == dataclasses.asdict(payload)
    assert event_type.read(event) == payload


def test_a_payload_of_another_event_is_refused():
    with pytest.raises(TypeError, match="carries AccountChanged"):
        catalogue.ACCOUNT_RENEWED.event(reseller_id=1, livemode=True,
                                        payload=SAMPLES[catalogue.ReminderDue])  # type: ignore[arg-type]
    event = catalogue.ACCOUNT_RENEWED.event(reseller_id=1, livemode=True,
                                            payload=CHANGED)
    with pytest.raises(ValueError, match=r"is not account\.expired"):
        catalogue.ACCOUNT_EXPIRED.read(event)


def test_a_payload_missing_a_field_is_refused_when_read():
    event = catalogue.ACCOUNT_RENEWED.event(reseller_id=1, livemode=True,
                                            payload=CHANGED)
    del event.payload["event_id"]
    with pytest.raises(TypeError, match="event_id"):
        catalogue.ACCOUNT_RENEWED.read(event)


def test_the_public_webhooks_and_what_they_show():
    assert list(WEBHOOK_TYPES) == [
        "account.created", "account.activated", "account.renewed", "account.suspended",
        "account.unsuspended", "account.terminated", "account.expiring", "payment.recorded",
        "payment.succeeded", "payment.failed", "payment.refunded", "credits.low",
    ]
    changed = SAMPLES[catalogue.PaymentChanged].as_dict()
    # The subscriber's pay link and the email's keys stay inside the panel.
    assert WEBHOOK_TYPES["payment.failed"].public_payload(changed) == {
        "payment_id": 5, "subscriber_id": 2, "account_id": 1, "source": "card",
        "purpose": "renewal", "state": "failed", "amount": 900, "currency": "EUR",
        "error": "declined"}
    floor = SAMPLES[catalogue.CreditFloor].as_dict()
    # Recipients and internal counters stay inside the panel.
    assert WEBHOOK_TYPES["credits.low"].public_payload(floor) == {
        "balance": 4, "floor": 10, "needed_7_days": 3, "needed_30_days": 9}
    reminder = SAMPLES[catalogue.ReminderDue].as_dict()
    assert WEBHOOK_TYPES["account.expiring"].public_payload(reminder) == {
        "account_id": 1, "offset_days": 3}
