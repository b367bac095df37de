"""The emails of payments through the panel: a payment that needs the bank's confirmation, a
wallet top-up's receipt and a refund to the subscriber, a disputed payment to the reseller's
contact address and owners; each once per payload key, in the recipient's language, and a
test-mode one to the reseller. The payment-failed email links to where the card is replaced."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import Reseller
from apps.core import catalogue
from apps.core.events import publish
from apps.notifications.models import OutboxMessage
from apps.payments.charges import payment_record_manual
from apps.payments.services import dunning_attempt_failed
from apps.subscriptions.models import PlanPrice, ServiceAccount, Subscriber
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, grant
from ..factories import MembershipFactory, ResellerFactory, SubscriberFactory, UserFactory

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"
PAY_URL = "https://billing.reseller.example/pay/abc123/"


def _spanish(person: Subscriber | Reseller) -> None:
    person.language = "es"
    person.save(update_fields=["language"])


def _account(reseller: Reseller, plan, subscriber: Subscriber) -> ServiceAccount:
    grant(reseller, 5, livemode=subscriber.livemode, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    return account


def _changed(subscriber: Subscriber, *, account: ServiceAccount | None = None,
             purpose: str = "renewal", state: str = "succeeded", amount: int = 999,
             currency: str = "EUR", refunded: int = 0, dedupe: str | None = None,
             action_url: str = "", payment_id: int = 41) -> catalogue.PaymentChanged:
    """A payment's payload as apps.payments.charges._payload writes it."""
    return catalogue.PaymentChanged(
        payment_id=payment_id, subscriber_id=subscriber.pk,
        account_id=account.pk if account is not None else None, source="card",
        purpose=purpose, state=state, amount=amount, currency=currency,
        refunded_amount=refunded, now=NOW.isoformat(),
        dedupe_key=f"payment:{payment_id}:{dedupe or state}", action_url=action_url)


def _publish(event_type: catalogue.EventType[Any], payload: Any, *, reseller: Reseller,
             livemode: bool = True, times: int = 1) -> None:
    for _ in range(times):
        with transaction.atomic():
            publish(event_type.event(reseller_id=reseller.pk, livemode=livemode,
                                     payload=payload))


def _rows(event: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(event=event).order_by("pk"))


def _one(event: str) -> OutboxMessage:
    rows = _rows(event)
    assert len(rows) == 1, rows
    return rows[0]


# ---------------------------------------------------------------- the bank asks to confirm


def test_a_payment_needing_confirmation_sends_the_link_once(reseller, plan, subscriber):
    account = _account(reseller, plan, subscriber)
    payload = _changed(subscriber, account=account, state="requires_action",
                       action_url=PAY_URL)
    _publish(catalogue.PAYMENT_ACTION_REQUIRED, payload, reseller=reseller, times=2)
    row = _one("payment_action_required")
    assert (row.recipient, row.account_id, row.language) == (subscriber.email, account.pk, "en")
    assert row.subject == "Confirm your payment of €9.99"
    assert (f"Your bank asks you to confirm the payment of €9.99 for Monthly "
            f"{account.username}: {PAY_URL}\nUntil then the renewal waits.") in row.text
    assert row.text.startswith("Hello Ana García,")


def test_a_spanish_subscriber_is_asked_to_confirm_in_spanish(reseller, plan, subscriber):
    _spanish(subscriber)
    account = _account(reseller, plan, subscriber)
    with translation.override("en"):
        _publish(catalogue.PAYMENT_ACTION_REQUIRED,
                 _changed(subscriber, account=account, state="requires_action",
                          action_url=PAY_URL), reseller=reseller)
        row = _one("payment_action_required")
        assert row.subject == f"Confirma tu pago de 9,99{NBSP}€"
        assert (f"Tu banco te pide que confirmes el pago de 9,99{NBSP}€ por Monthly "
                f"{account.username}: {PAY_URL}\n"
                "Hasta entonces, la renovación queda en espera.") in row.text


def test_a_top_up_needing_confirmation_names_no_account(reseller, subscriber):
    _publish(catalogue.PAYMENT_ACTION_REQUIRED,
             _changed(subscriber, purpose="top_up", state="requires_action",
                      action_url=PAY_URL), reseller=reseller)
    row = _one("payment_action_required")
    assert row.account_id is None
    assert f"confirm the payment of €9.99: {PAY_URL}\nUntil then the payment waits." in row.text


# ---------------------------------------------------------------- wallet top-ups


def test_a_wallet_top_up_sends_a_receipt_once(reseller, subscriber):
    payload = _changed(subscriber, purpose="top_up", amount=2500)
    _publish(catalogue.PAYMENT_SUCCEEDED, payload, reseller=reseller, times=2)
    row = _one("top_up_receipt")
    assert (row.recipient, row.account_id) == (subscriber.email, None)
    assert row.subject == "Receipt for your wallet top-up of €25.00"
    assert "We received €25.00 into your wallet." in row.text
    assert row.dedupe_key == "top_up_receipt:payment:41:succeeded"


def test_a_spanish_subscribers_top_up_receipt_is_in_spanish(reseller, subscriber):
    _spanish(subscriber)
    _publish(catalogue.PAYMENT_SUCCEEDED, _changed(subscriber, purpose="top_up", amount=2500),
             reseller=reseller)
    row = _one("top_up_receipt")
    assert row.subject == f"Recibo de la recarga de tu monedero de 25,00{NBSP}€"
    assert row.text.startswith("Hola, Ana García:")
    assert f"Hemos recibido 25,00{NBSP}€ en tu monedero." in row.text


def test_the_top_up_receipt_uses_the_currencys_exponent(reseller, subscriber):
    _publish(catalogue.PAYMENT_SUCCEEDED,
             _changed(subscriber, purpose="top_up", amount=1500, currency="JPY"),
             reseller=reseller)
    assert "We received ¥1,500 into your wallet." in _one("top_up_receipt").text


def test_a_renewals_payment_sends_no_top_up_receipt(reseller, plan, subscriber):
    account = _account(reseller, plan, subscriber)
    _publish(catalogue.PAYMENT_SUCCEEDED, _changed(subscriber, account=account),
             reseller=reseller)
    assert OutboxMessage.objects.filter(event="top_up_receipt").count() == 0


def test_a_renewal_paid_by_hand_sends_one_receipt_not_two(reseller, plan, subscriber):
    account = _account(reseller, plan, subscriber)
    PlanPrice.objects.create(plan=plan, currency="EUR", amount=999)
    payment_record_manual(actor=SYSTEM, subscriber=subscriber, amount=999, currency="EUR",
                          source="cash", reference="R-1", idempotency_key="k-1",
                          account=account, months=1, now=NOW + dt.timedelta(hours=1))
    payment_emails = OutboxMessage.objects.filter(
        account=account).exclude(event="welcome").values_list("event", flat=True)
    assert list(payment_emails) == ["payment_receipt"]


# ---------------------------------------------------------------- refunds


def test_a_refund_tells_the_subscriber_what_was_refunded_once(reseller, plan, subscriber):
    account = _account(reseller, plan, subscriber)
    payload = _changed(subscriber, account=account, state="refunded", refunded=999)
    _publish(catalogue.PAYMENT_REFUNDED, payload, reseller=reseller, times=2)
    row = _one("refund_issued")
    assert (row.recipient, row.account_id) == (subscriber.email, account.pk)
    assert row.subject == "We refunded €9.99"
    assert (f"We refunded €9.99 of your payment of €9.99 for your Monthly account "
            f"{account.username}.") in row.text


def test_a_second_partial_refund_has_its_own_email(reseller, subscriber):
    first = _changed(subscriber, purpose="top_up", state="partially_refunded", amount=2000,
                     refunded=500)
    # A second partial refund: no state change, its own key (charges._refund_succeeded).
    second = _changed(subscriber, purpose="top_up", state="partially_refunded", amount=2000,
                      refunded=800, dedupe="refund:7")
    for payload in (first, second, first, second):
        _publish(catalogue.PAYMENT_REFUNDED, payload, reseller=reseller)
    rows = _rows("refund_issued")
    assert [row.subject for row in rows] == ["We refunded €5.00", "We refunded €8.00"]
    assert "We refunded €8.00 of your payment of €20.00." in rows[1].text


def test_a_spanish_subscriber_hears_of_the_refund_in_spanish(reseller, plan, subscriber):
    _spanish(subscriber)
    account = _account(reseller, plan, subscriber)
    _publish(catalogue.PAYMENT_REFUNDED,
             _changed(subscriber, account=account, state="partially_refunded", amount=1999,
                      refunded=400), reseller=reseller)
    row = _one("refund_issued")
    assert row.subject == f"Te hemos reembolsado 4,00{NBSP}€"
    assert (f"Te hemos reembolsado 4,00{NBSP}€ de tu pago de 19,99{NBSP}€ por tu cuenta "
            f"Monthly {account.username}.") in row.text


# ---------------------------------------------------------------- disputes


def _disputed(subscriber: Subscriber, account: ServiceAccount | None = None, *,
              reason: str = "fraudulent") -> catalogue.PaymentDisputed:
    return catalogue.PaymentDisputed(
        payment_id=41, subscriber_id=subscriber.pk,
        account_id=account.pk if account is not None else None, amount=999, currency="EUR",
        reason=reason, now=NOW.isoformat(), dedupe_key="dispute:dp_1")


def test_a_dispute_tells_the_resellers_contact_address_and_its_owners_once(
    reseller, plan, subscriber
):
    owner = MembershipFactory.create(reseller=reseller, role="owner").user
    # The contact address is an owner's too: one email to it.
    MembershipFactory.create(reseller=reseller, role="owner",
                             user=UserFactory.create(email=reseller.contact_email.upper()))
    MembershipFactory.create(reseller=reseller, role="admin")
    MembershipFactory.create(reseller=reseller, role="owner",
                             user=UserFactory.create(is_active=False))
    MembershipFactory.create(reseller=ResellerFactory.create(), role="owner")
    account = _account(reseller, plan, subscriber)
    _publish(catalogue.PAYMENT_DISPUTED, _disputed(subscriber, account), reseller=reseller,
             times=2)
    rows = _rows("payment_disputed")
    assert sorted(row.recipient for row in rows) == sorted([reseller.contact_email,
                                                            owner.email])
    for row in rows:
        assert (row.account_id, row.language) == (account.pk, "en")
        assert row.subject == "Payment of €9.99 by Ana García disputed"
        assert (f"A payment of €9.99 by Ana García for the Monthly account {account.username} "
                "was disputed at the bank (fraudulent); the subscriber and the account are "
                "flagged.") in row.text


def test_a_dispute_is_in_the_resellers_language_not_the_subscribers(reseller, subscriber):
    _spanish(reseller)
    _publish(catalogue.PAYMENT_DISPUTED, _disputed(subscriber, reason=""), reseller=reseller)
    row = _one("payment_disputed")
    assert (row.recipient, row.language, row.account_id) == (reseller.contact_email, "es", None)
    assert row.subject == f"Pago de 9,99{NBSP}€ de Ana García disputado"
    assert (f"Un pago de 9,99{NBSP}€ de Ana García se ha disputado en el banco (sin motivo "
            "indicado); el suscriptor queda marcado.") in row.text


# ---------------------------------------------------------------- test mode and tenants


def test_test_mode_payment_emails_go_to_the_reseller_marked_test(reseller):
    tester = SubscriberFactory.create(reseller=reseller, name="Tess", livemode=False,
                                      language="es")
    _publish(catalogue.PAYMENT_SUCCEEDED, _changed(tester, purpose="top_up"),
             reseller=reseller, livemode=False)
    _publish(catalogue.PAYMENT_REFUNDED,
             _changed(tester, purpose="top_up", state="refunded", refunded=999),
             reseller=reseller, livemode=False)
    _publish(catalogue.PAYMENT_ACTION_REQUIRED,
             _changed(tester, purpose="top_up", state="requires_action", action_url=PAY_URL),
             reseller=reseller, livemode=False)
    rows = list(OutboxMessage.objects.order_by("pk"))
    assert [row.event for row in rows] == ["top_up_receipt", "refund_issued",
                                           "payment_action_required"]
    for row in rows:
        assert (row.recipient, row.livemode, row.language) == (reseller.contact_email, False,
                                                               "es")
        assert row.subject.startswith("[TEST] ")
    assert tester.email not in {row.recipient for row in rows}


def test_an_event_naming_another_resellers_subscriber_sends_nothing(reseller):
    stranger = SubscriberFactory.create(reseller=ResellerFactory.create())
    _publish(catalogue.PAYMENT_SUCCEEDED, _changed(stranger, purpose="top_up"),
             reseller=reseller)
    _publish(catalogue.PAYMENT_DISPUTED, _disputed(stranger), reseller=reseller)
    assert not OutboxMessage.objects.exists()


# ---------------------------------------------------------------- payment failed


def test_the_payment_failed_email_links_to_where_the_card_is_replaced(
    reseller, plan, subscriber
):
    account = _account(reseller, plan, subscriber)
    assert account.expires_at is not None
    dunning_attempt_failed(actor=SYSTEM, account=account, period=account.expires_at,
                           error="card declined", action_url=PAY_URL, now=NOW)
    row = _one("payment_failed")
    assert f"Update your card here: {PAY_URL}" in row.text
    assert "card declined" in row.text


def test_the_payment_failed_email_without_a_link_has_no_card_line(reseller, plan, subscriber):
    account = _account(reseller, plan, subscriber)
    assert account.expires_at is not None
    dunning_attempt_failed(actor=SYSTEM, account=account, period=account.expires_at,
                           error="the wallet holds too little", now=NOW)
    text = _one("payment_failed").text
    assert "Update your card" not in text and "http" not in text
    assert text.rstrip().endswith(reseller.name)


def test_a_spanish_payment_failed_email_links_in_spanish(reseller, plan, subscriber):
    _spanish(subscriber)
    account = _account(reseller, plan, subscriber)
    assert account.expires_at is not None
    dunning_attempt_failed(actor=SYSTEM, account=account, period=account.expires_at,
                           error="tarjeta rechazada", action_url=PAY_URL, now=NOW)
    assert f"Actualiza tu tarjeta aquí: {PAY_URL}" in _one("payment_failed").text


# ---------------------------------------------------------------- the dashboard's template tab

NEW_EVENTS = {
    "payment_action_required": ("Payment needs confirming", "Pago pendiente de confirmar"),
    "top_up_receipt": ("Wallet top-up receipt", "Recibo de recarga del monedero"),
    "refund_issued": ("Refund issued", "Reembolso emitido"),
    "payment_disputed": ("Payment disputed (to the reseller)", "Pago disputado (al revendedor)"),
}


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_template_tab_lists_the_payment_emails_in_the_staffs_language(reseller, language):
    client = Client()
    client.force_login(MembershipFactory.create(reseller=reseller, role="owner").user)
    client.cookies["django_language"] = language
    page = client.get(reverse("dashboard:settings_template")).content.decode()
    selector = page[page.index('<select id="tpl-event"'):]
    selector = selector[:selector.index("</select>")]
    for event, labels in NEW_EVENTS.items():
        label = labels[0] if language == "en" else labels[1]
        assert f'<option value="{event}">{label}</option>' in selector


def test_the_template_tab_loads_a_payment_emails_spanish_default_with_its_preview(reseller):
    client = Client()
    client.force_login(MembershipFactory.create(reseller=reseller, role="owner").user)
    page = client.get(reverse("dashboard:settings_template"),
                      {"event": "refund_issued", "language": "es"}).content.decode()
    assert "Te hemos reembolsado {{ refunded_amount }}" in page
    assert f"Te hemos reembolsado 4,00{NBSP}€ de tu pago de 9,99{NBSP}€" in page
