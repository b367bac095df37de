"""The payments on the dashboard: the subscriber page's Payments section (wallets, cards,
payments and refunds, recording and refunding), the account's renewal settings, and the
billing tab's payment list."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.core.dates import add_months
from apps.core.money import money_format
from apps.payments import charges
from apps.payments.models import (
    CardStatus,
    Payment,
    PaymentMethod,
    PaymentPurpose,
    PaymentSource,
    PaymentState,
    Refund,
    Wallet,
    WalletEntry,
)
from apps.subscriptions.models import AccountEvent, PlanPrice, ServiceAccount, Subscriber
from tests.conftest import SYSTEM
from tests.factories import PlanFactory, SubscriberFactory

from .conftest import World, make_account

pytestmark = pytest.mark.django_db

_keys = itertools.count()


def eur(amount: int) -> str:
    return money_format(amount, "EUR")


def page(client, subscriber: Subscriber) -> str:
    response = client.get(reverse("dashboard:subscriber", args=[subscriber.pk]))
    assert response.status_code == 200
    return response.content.decode()


def block(pattern: str, html: str) -> str:
    found = re.search(pattern, html, re.S)
    assert found is not None, pattern
    return found.group(0)


def section(html: str) -> str:
    found = re.search(r'<section class="card" id="payments">.*?</section>', html, re.S)
    assert found is not None, "no Payments section"
    return found.group(0)


def top_up(subscriber: Subscriber, amount: int, currency: str = "EUR") -> Payment:
    return charges.wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=amount,
                                 currency=currency, source=PaymentSource.CASH,
                                 reference=f"R-{next(_keys)}",
                                 idempotency_key=f"t-{next(_keys)}").payment


def cash_renewal(world: World, amount: int) -> Payment:
    """A renewal paid in cash, recorded by staff: refunded into the wallet or outside."""
    return charges.payment_record_manual(
        actor=SYSTEM, subscriber=world.subscriber, amount=amount, currency="EUR",
        source=PaymentSource.CASH, reference=f"C-{next(_keys)}",
        idempotency_key=f"c-{next(_keys)}", account=world.account, months=1).payment


def card_row(world: World, *, state: str, amount: int = 900, error: str = "",
             card: PaymentMethod | None = None, subscriber: Subscriber | None = None,
             account: ServiceAccount | None = None, when: dt.datetime | None = None,
             livemode: bool = True) -> Payment:
    """A card payment as Stripe's answers leave it (failed, unknown, ...): written directly,
    because reaching those states through the services needs a Stripe server."""
    subscriber = subscriber or world.subscriber
    account = account or world.account
    when = when or timezone.now()
    key = f"renewal:{next(_keys)}"
    return Payment.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, account=account,
        livemode=livemode, source=PaymentSource.CARD, purpose=PaymentPurpose.RENEWAL,
        state=state, amount=amount, currency="EUR", purpose_key=key, attempt=1,
        idempotency_key=f"{key}:1", payment_method=card, error_message=error,
        created_at=when, updated_at=when, months=1,
        paid_at=when if state == PaymentState.SUCCEEDED else None)


def card(subscriber: Subscriber, *, last4: str, status: str = CardStatus.ENABLED,
         reason: str = "", default: bool = False) -> PaymentMethod:
    now = timezone.now()
    return PaymentMethod.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber,
        livemode=subscriber.livemode, stripe_id=f"pm_{next(_keys)}", brand="visa",
        last4=last4, exp_month=4, exp_year=2031, status=status, status_reason=reason,
        is_default=default, created_at=now, updated_at=now)


def hidden_key(html: str, form_testid: str) -> str:
    form = re.search(rf'<form [^>]*data-testid="{form_testid}".*?</form>', html, re.S)
    assert form is not None, form_testid
    key = re.search(r'name="([^"]*idempotency_key)" value="([^"]+)"', form.group(0))
    assert key is not None
    return key.group(2)


@pytest.fixture
def priced(world: World) -> World:
    PlanPrice.objects.create(plan=world.plan, currency="EUR", amount=900)
    return world


# ---------------------------------------------------------------- the section renders


def test_wallets_history_cards_payments_and_refunds_are_shown(priced, signed_in):
    world = priced
    first = top_up(world.subscriber, 5000)
    charges.payment_refund(actor=SYSTEM, payment=first, amount=200, idempotency_key="rf-1",
                           reason="double charge")
    top_up(world.subscriber, 1250, "USD")
    charges.payment_record_manual(actor=SYSTEM, subscriber=world.subscriber, amount=900,
                                  currency="EUR", source=PaymentSource.BANK_TRANSFER,
                                  reference="TR-77", idempotency_key="m-1",
                                  account=world.account, months=1)
    default = card(world.subscriber, last4="4242", default=True)
    card(world.subscriber, last4="0002", status=CardStatus.DISABLED,
         reason="card_declined: insufficient funds")
    card(world.subscriber, last4="1111", status=CardStatus.DETACHED,
         reason="removed by the subscriber")
    failed = card_row(world, state=PaymentState.FAILED, card=default,
                      error="Your card was declined.")
    unknown = card_row(world, state=PaymentState.UNKNOWN, card=default)
    waiting = card_row(world, state=PaymentState.REQUIRES_ACTION, card=default)

    html = section(page(signed_in(world.reseller, "viewer"), world.subscriber))

    balances = re.findall(r'data-testid="wallet-balance" data-currency="(\w+)"><strong>([^<]+)<',
                          html)
    # The refund of a top-up takes it out of the wallet again.
    assert [(c, unescape(v)) for c, v in balances] == [("EUR", eur(4800)),
                                                       ("USD", money_format(1250, "USD"))]
    entries = re.findall(r'data-testid="wallet-entry" data-kind="(\w+)"><td>[^<]*</td>'
                         r"<td>([^<]+)</td><td>[^<]*</td><td[^>]*>([^<]+)</td>", html)
    # Newest first, each with the balance after it and the kind in words.
    assert [(k, label.strip(), unescape(after)) for k, label, after in entries] == [
        ("top_up", "Top-up", money_format(1250, "USD")),
        ("adjustment", "Adjustment", eur(4800)),
        ("top_up", "Top-up", eur(5000)),
    ]
    cards = re.findall(r'data-testid="card" data-status="(\w+)">(.*?)</li>', html, re.S)
    # The default first, then the newest.
    assert [status for status, _ in cards] == ["enabled", "detached", "disabled"]
    assert "Visa •••• 4242" in cards[0][1] and "04/2031" in cards[0][1]
    assert 'data-testid="card-default"' in cards[0][1]
    assert "Disabled" in cards[2][1] and "insufficient funds" in cards[2][1]
    assert "Removed" in cards[1][1] and "removed by the subscriber" in cards[1][1]
    assert 'data-testid="card-default"' not in cards[1][1] + cards[2][1]

    states = dict(re.findall(r'data-testid="panel-payment" data-id="(\d+)".*?'
                             r'data-testid="payment-state" data-state="(\w+)">', html, re.S))
    assert states[str(failed.pk)] == "failed"
    assert states[str(unknown.pk)] == "unknown"
    assert states[str(waiting.pk)] == "requires_action"
    assert states[str(first.pk)] == "partially_refunded"
    assert "Your card was declined." in html
    for label in ("Failed", "Unknown", "Needs authentication", "Partially refunded",
                  "Succeeded", "Bank transfer", "Cash", "Wallet top-up", "Renewal"):
        assert f">{label}<" in html or f">{label} " in html or f"{label}" in html, label
    refunds = re.findall(rf'data-testid="refund" data-payment="{first.pk}".*?</tr>', html, re.S)
    assert len(refunds) == 1
    assert eur(200) in unescape(refunds[0]) and "Outside the panel" in refunds[0]
    assert "double charge" in refunds[0]
    # A viewer sees all of it and none of the forms.
    assert 'data-testid="record-form"' not in html and 'data-testid="refund-form"' not in html


def test_the_section_reads_in_spanish(priced, signed_in):
    world = priced
    top_up(world.subscriber, 5000)
    card(world.subscriber, last4="0002", status=CardStatus.DISABLED, reason="expired_card")
    card_row(world, state=PaymentState.REQUIRES_ACTION)
    client = signed_in(world.reseller, "billing")
    client.cookies["django_language"] = "es"
    html = section(page(client, world.subscriber))
    for spanish in ("Pagos", "Saldo del monedero", "Tarjetas guardadas", "Recarga",
                    "Necesita autenticación", "Desactivada", "Registrar pago", "Efectivo",
                    "Transferencia bancaria", "Historial del monedero"):
        assert spanish in html, spanish
    assert "50,00" in html
    for english in ("Wallet balance", "Saved cards", "Record payment", "Needs authentication"):
        assert english not in html, english


# ---------------------------------------------------------------- roles and tenants


@pytest.mark.parametrize(("role", "sees", "records", "refunds"), [
    ("owner", True, True, True),
    ("admin", True, True, True),
    ("billing", True, True, True),
    ("support", True, False, False),
    ("viewer", True, False, False),
])
def test_role_matrix_of_the_payments_section(priced, signed_in, role, sees, records, refunds):
    world = priced
    paid = cash_renewal(world, 5000)
    client = signed_in(world.reseller, role)
    html = page(client, world.subscriber)
    assert ('id="payments"' in html) is sees
    assert ('data-testid="record-form"' in html) is records
    assert ('data-testid="refund-form"' in html) is refunds
    record = client.post(reverse("dashboard:payment_record", args=[world.subscriber.pk]), {
        "record-amount": "10.00", "record-currency": "EUR", "record-source": "cash",
        "record-reference": "R-role", "record-idempotency_key": f"role-{role}"})
    assert record.status_code == (302 if records else 403)
    refund = client.post(reverse("dashboard:payment_refund", args=[paid.pk]), {
        f"refund-{paid.pk}-amount": "1.00", f"refund-{paid.pk}-destination": "wallet",
        f"refund-{paid.pk}-idempotency_key": f"role-{role}"})
    assert refund.status_code == (302 if refunds else 403)
    assert Refund.objects.filter(payment=paid).count() == (1 if refunds else 0)


def test_another_resellers_subscriber_and_payment_are_not_found(priced, signed_in):
    world = priced
    theirs = top_up(world.other_subscriber, 5000)
    client = signed_in(world.reseller, "owner")
    assert client.get(reverse("dashboard:subscriber",
                              args=[world.other_subscriber.pk])).status_code == 404
    record = client.post(reverse("dashboard:payment_record", args=[world.other_subscriber.pk]),
                         {"record-amount": "10.00", "record-currency": "EUR",
                          "record-source": "cash", "record-reference": "R",
                          "record-idempotency_key": "x"})
    assert record.status_code == 404
    refund = client.post(reverse("dashboard:payment_refund", args=[theirs.pk]), {
        f"refund-{theirs.pk}-amount": "1.00", f"refund-{theirs.pk}-destination": "wallet",
        f"refund-{theirs.pk}-idempotency_key": "x"})
    assert refund.status_code == 404
    assert Payment.objects.filter(reseller=world.other).count() == 1
    assert not Refund.objects.exists()
    listed = client.get(reverse("dashboard:payments")).content.decode()
    assert f'data-id="{theirs.pk}"' not in listed


def test_an_account_of_another_subscriber_cannot_be_renewed_by_this_ones_payment(priced,
                                                                               signed_in):
    world = priced
    client = signed_in(world.reseller, "billing")
    response = client.post(reverse("dashboard:payment_record", args=[world.subscriber.pk]), {
        "record-amount": "9.00", "record-currency": "EUR", "record-source": "cash",
        "record-reference": "R", "record-idempotency_key": "k",
        "record-account": world.other_account.pk, "record-months": 1})
    assert response.status_code == 400
    assert not Payment.objects.exists()


# ---------------------------------------------------------------- recording


def test_recording_cash_into_the_wallet_and_a_double_submit_records_once(priced, signed_in):
    world = priced
    client = signed_in(world.reseller, "billing")
    key = hidden_key(page(client, world.subscriber), "record-form")
    data = {"record-amount": "25.50", "record-currency": "EUR", "record-source": "cash",
            "record-reference": "REC-1", "record-idempotency_key": key}
    url = reverse("dashboard:payment_record", args=[world.subscriber.pk])
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)
    assert Payment.objects.filter(subscriber=world.subscriber).count() == 1
    assert Wallet.objects.get(subscriber=world.subscriber, currency="EUR").balance == 2550
    assert WalletEntry.objects.filter(subscriber=world.subscriber).count() == 1
    assert f"Payment of {eur(2550)} recorded into the wallet." in unescape(
        first.content.decode())
    assert "already recorded; nothing was recorded again" in second.content.decode()
    # A fresh page carries a fresh key: the next payment is a new one.
    assert hidden_key(page(client, world.subscriber), "record-form") != key


def test_recording_a_bank_transfer_that_renews_an_account_now(priced, signed_in):
    world = priced
    expires = world.account.expires_at
    client = signed_in(world.reseller, "billing")
    key = hidden_key(page(client, world.subscriber), "record-form")
    data = {"record-amount": "9.00", "record-currency": "EUR",
            "record-source": "bank_transfer", "record-reference": "TR-9",
            "record-paid_at": (timezone.localdate() - dt.timedelta(days=2)).isoformat(),
            "record-account": world.account.pk, "record-months": 1,
            "record-idempotency_key": key}
    url = reverse("dashboard:payment_record", args=[world.subscriber.pk])
    response = client.post(url, data)
    assert response.status_code == 302
    client.post(url, data)
    payment = Payment.objects.get(subscriber=world.subscriber)
    assert (payment.source, payment.purpose, payment.account_id, payment.months) == (
        "bank_transfer", "renewal", world.account.pk, 1)
    assert payment.paid_at is not None and payment.paid_at.date() < timezone.localdate()
    world.account.refresh_from_db()
    assert world.account.expires_at > expires
    assert AuditEntry.objects.filter(action="payment.record").count() == 1


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"record-amount": "abc"}, "amount", "Write the amount as a number"),
    ({"record-amount": "9.999"}, "amount", "EUR amounts have at most 2 decimals."),
    ({"record-amount": "0"}, "amount", "at least the currency"),
    ({"record-reference": ""}, "reference", "This field is required."),
    ({"record-currency": "USD", "record-account": "ACCOUNT", "record-months": 1}, "currency",
     "The account&#x27;s plan has no price in USD."),
    ({"record-account": "ACCOUNT"}, "months", "Give the months to renew"),
    ({"record-months": 1}, "account", "Choose the account to renew."),
    ({"record-paid_at": "2999-01-01"}, "paid_at", "The payment date is in the future."),
])
def test_bad_input_is_said_beside_its_field_and_nothing_is_written(priced, signed_in, changes,
                                                                  field, message):
    world = priced
    # USD is offered (another plan is priced in it), but not for this account's plan.
    PlanPrice.objects.create(plan=PlanFactory.create(reseller=world.reseller), currency="USD",
                             amount=1000)
    client = signed_in(world.reseller, "billing")
    data = {"record-amount": "9.00", "record-currency": "EUR", "record-source": "cash",
            "record-reference": "R-1", "record-idempotency_key": "bad-1"}
    data.update({k: (world.account.pk if v == "ACCOUNT" else v) for k, v in changes.items()})
    response = client.post(reverse("dashboard:payment_record", args=[world.subscriber.pk]),
                           data)
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.search(rf'id="id_record-{field}-errors">(.*?)</ul>', html, re.S)
    assert errors is not None, html[html.find('id="record-payment"'):][:3000]
    assert message in errors.group(1)
    assert not Payment.objects.exists()
    assert not WalletEntry.objects.exists()
    # The form stays open with what was typed, and with the same key.
    assert '<details open id="record-payment">' in html
    assert hidden_key(html, "record-form") == "bad-1"


# ---------------------------------------------------------------- refunds


def test_refund_defaults_to_what_is_left_and_a_double_submit_refunds_once(priced, signed_in):
    world = priced
    paid = cash_renewal(world, 5000)
    charges.payment_refund(actor=SYSTEM, payment=paid, amount=1000, idempotency_key="rf-0")
    client = signed_in(world.reseller, "billing")
    html = page(client, world.subscriber)
    form = re.search(rf'action="{reverse("dashboard:payment_refund", args=[paid.pk])}".*?</form>',
                     html, re.S)
    assert form is not None
    assert f'name="refund-{paid.pk}-amount" value="40.00"' in form.group(0)
    # A cash payment goes back into the wallet only.
    assert 'value="card"' not in form.group(0)
    key = hidden_key(html, "refund-form")
    data = {f"refund-{paid.pk}-amount": "15.00", f"refund-{paid.pk}-destination": "wallet",
            f"refund-{paid.pk}-reason": "service outage",
            f"refund-{paid.pk}-idempotency_key": key}
    url = reverse("dashboard:payment_refund", args=[paid.pk])
    first = client.post(url, data, follow=True)
    second = client.post(url, data, follow=True)
    assert Refund.objects.filter(payment=paid).count() == 2
    paid.refresh_from_db()
    assert paid.refunded_amount == 2500
    assert f"Refund of {eur(1500)} made." in unescape(first.content.decode())
    assert "already made; nothing was refunded again" in second.content.decode()
    # 10.00 and 15.00 (once) of the 50.00 paid in cash, back into the wallet.
    assert Wallet.objects.get(subscriber=world.subscriber).balance == 2500


def test_a_refund_over_what_is_left_is_refused_beside_the_amount(priced, signed_in):
    world = priced
    paid = cash_renewal(world, 5000)
    client = signed_in(world.reseller, "billing")
    response = client.post(reverse("dashboard:payment_refund", args=[paid.pk]), {
        f"refund-{paid.pk}-amount": "60.00", f"refund-{paid.pk}-destination": "wallet",
        f"refund-{paid.pk}-idempotency_key": "over"})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    errors = re.search(rf'id="id_refund-{paid.pk}-amount-errors">(.*?)</ul>', html, re.S)
    assert errors is not None
    assert f"At most {eur(5000)} is left to refund." in errors.group(1)
    assert not Refund.objects.exists()
    paid.refresh_from_db()
    assert paid.refunded_amount == 0


def test_a_card_refund_of_a_cash_payment_is_refused(priced, signed_in):
    world = priced
    paid = top_up(world.subscriber, 5000)
    client = signed_in(world.reseller, "billing")
    response = client.post(reverse("dashboard:payment_refund", args=[paid.pk]), {
        f"refund-{paid.pk}-amount": "1.00", f"refund-{paid.pk}-destination": "card",
        f"refund-{paid.pk}-idempotency_key": "c"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Refund.objects.exists()


def test_failed_and_refunded_payments_offer_no_refund(priced, signed_in):
    world = priced
    failed = card_row(priced, state=PaymentState.FAILED)
    paid = top_up(world.subscriber, 500)
    charges.payment_refund(actor=SYSTEM, payment=paid, amount=500, idempotency_key="all")
    html = page(signed_in(world.reseller, "billing"), world.subscriber)
    for payment in (failed, paid):
        assert reverse("dashboard:payment_refund", args=[payment.pk]) not in html
    response = signed_in(world.reseller, "billing").post(
        reverse("dashboard:payment_refund", args=[failed.pk]), {
            f"refund-{failed.pk}-amount": "1.00", f"refund-{failed.pk}-destination": "card",
            f"refund-{failed.pk}-idempotency_key": "f"})
    assert response.status_code == 400
    assert "cannot be refunded in its state" in response.content.decode()


# ---------------------------------------------------------------- renewal settings


def test_renewal_period_in_plan_periods_and_source_are_set_as_an_account_event(world,
                                                                              signed_in):
    quarterly = PlanFactory.create(reseller=world.reseller, name="Quarterly",
                                   duration_months=3)
    account = make_account(world.reseller, quarterly, world.subscriber)
    client = signed_in(world.reseller, "billing")
    html = page(client, world.subscriber)
    card_html = block(rf'id="account-{account.pk}">.*?</article>', html)
    assert 'data-testid="account-currency">EUR<' in card_html
    assert "Renews for (periods of 3 months)" in card_html
    for source in ("complimentary", "external", "wallet", "card"):
        assert f'<option value="{source}"' in card_html, source
    response = client.post(reverse("dashboard:renewal_source", args=[account.pk]),
                           {"renewal_source": "wallet", "renewal_periods": 2})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.renewal_period_months, account.renewal_source) == (6, "wallet")
    event = AccountEvent.objects.filter(account=account, action="set_renewal").get()
    assert event.data["renewal_period_months"] == 6
    html = page(client, world.subscriber)
    card_html = block(rf'id="account-{account.pk}">.*?</article>', html)
    assert 'data-testid="renewal-period">6 months<' in card_html
    assert "Paid from the subscriber&#x27;s wallet" in card_html
    assert f'id="rp-{account.pk}" name="renewal_periods" min="1" max="40" value="2"' in card_html


def test_renewal_settings_are_refused_to_a_viewer_and_bad_ones_change_nothing(world,
                                                                            signed_in):
    url = reverse("dashboard:renewal_source", args=[world.account.pk])
    viewer = signed_in(world.reseller, "viewer")
    assert viewer.post(url, {"renewal_source": "wallet"}).status_code == 403
    assert 'data-testid="renewal-settings"' not in page(viewer, world.subscriber)
    billing = signed_in(world.reseller, "billing")
    response = billing.post(url, {"renewal_periods": 0, "renewal_source": "wallet"},
                            follow=True)
    assert "greater than or equal to 1" in response.content.decode()
    world.account.refresh_from_db()
    assert (world.account.renewal_period_months, world.account.renewal_source) == (
        1, "external")
    assert not AccountEvent.objects.filter(account=world.account, action="set_renewal").exists()


# ---------------------------------------------------------------- the billing tab


def listed(client, **params) -> list[int]:
    response = client.get(reverse("dashboard:payments"), params)
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'data-testid="payment-row" data-id="(\d+)"',
                                       response.content.decode())]


def test_billing_tab_lists_trouble_first_and_filters(priced, signed_in):
    world = priced
    now = timezone.now()
    old_failed = card_row(world, state=PaymentState.FAILED, when=now - dt.timedelta(days=10))
    unknown = card_row(world, state=PaymentState.UNKNOWN, when=now - dt.timedelta(days=5))
    waiting = card_row(world, state=PaymentState.REQUIRES_ACTION, when=now - dt.timedelta(days=1))
    paid = card_row(world, state=PaymentState.SUCCEEDED, when=now)
    cash = top_up(world.subscriber, 700)
    client = signed_in(world.reseller, "support")
    assert listed(client) == [waiting.pk, unknown.pk, old_failed.pk, cash.pk, paid.pk]
    assert listed(client, state="succeeded") == [cash.pk, paid.pk]
    assert listed(client, source="cash") == [cash.pk]
    today = timezone.localdate()
    assert listed(client, date_from=(today - dt.timedelta(days=6)).isoformat(),
                  date_to=(today - dt.timedelta(days=2)).isoformat()) == [unknown.pk]
    html = client.get(reverse("dashboard:payments")).content.decode()
    row = block(rf'data-testid="payment-row" data-id="{old_failed.pk}".*?</tr>', html)
    assert reverse("dashboard:subscriber", args=[world.subscriber.pk]) in row
    assert 'class="attention"' in row and "Failed" in row
    assert f"{world.subscriber.name}" in unescape(row)


def test_billing_tab_shows_one_mode_at_a_time(priced, signed_in):
    world = priced
    live = top_up(world.subscriber, 700)
    tester = SubscriberFactory.create(reseller=world.reseller, livemode=False, name="Tess")
    test_payment = top_up(tester, 300)
    assert not test_payment.livemode
    client = signed_in(world.reseller, "viewer")
    assert listed(client) == [live.pk]
    assert listed(client, mode="test") == [test_payment.pk]
    html = client.get(reverse("dashboard:payments"), {"mode": "test"}).content.decode()
    assert "test-mode payments only" in html
    # The test subscriber's own page shows its test payment only.
    assert f'data-id="{test_payment.pk}"' in section(page(client, tester))
    assert f'data-id="{live.pk}"' not in section(page(client, tester))


def test_billing_tab_pages_through_the_payments(priced, signed_in):
    world = priced
    now = timezone.now()
    rows = [card_row(world, state=PaymentState.SUCCEEDED, when=now - dt.timedelta(minutes=i))
            for i in range(52)]
    client = signed_in(world.reseller, "billing")
    first = listed(client, state="succeeded")
    second = listed(client, state="succeeded", page=2)
    assert first == [p.pk for p in rows[:50]]
    assert second == [p.pk for p in rows[50:]]
    html = client.get(reverse("dashboard:payments"), {"state": "succeeded"}).content.decode()
    assert 'href="?state=succeeded&page=2">Older' in html


def test_billing_tab_reads_in_spanish(priced, signed_in):
    world = priced
    card_row(world, state=PaymentState.UNKNOWN)
    client = signed_in(world.reseller, "billing")
    client.cookies["django_language"] = "es"
    html = client.get(reverse("dashboard:payments")).content.decode()
    for spanish in ("Pagos de suscriptores", "Desconocido", "Tarjeta", "Modo"):
        assert spanish in html, spanish


def test_a_whole_refund_may_take_the_months_back_when_ticked(priced, signed_in):
    world = priced
    paid = cash_renewal(world, 900)
    world.account.refresh_from_db()
    renewed_to = world.account.expires_at
    client = signed_in(world.reseller, "billing")
    html = page(client, world.subscriber)
    assert f'name="refund-{paid.pk}-shorten"' in html
    key = hidden_key(html, "refund-form")
    response = client.post(reverse("dashboard:payment_refund", args=[paid.pk]), {
        f"refund-{paid.pk}-amount": "9.00", f"refund-{paid.pk}-destination": "outside",
        f"refund-{paid.pk}-shorten": "on", f"refund-{paid.pk}-idempotency_key": key})
    assert response.status_code == 302
    world.account.refresh_from_db()
    assert world.account.expires_at == add_months(renewed_to, -1)
    # A top-up paid for no months: nothing to take back, no box.
    top = top_up(world.subscriber, 500)
    assert f'name="refund-{top.pk}-shorten"' not in page(client, world.subscriber)


def test_a_partial_refund_ticked_to_shorten_is_refused_beside_the_box(priced, signed_in):
    world = priced
    paid = cash_renewal(world, 900)
    client = signed_in(world.reseller, "billing")
    key = hidden_key(page(client, world.subscriber), "refund-form")
    response = client.post(reverse("dashboard:payment_refund", args=[paid.pk]), {
        f"refund-{paid.pk}-amount": "1.00", f"refund-{paid.pk}-destination": "wallet",
        f"refund-{paid.pk}-shorten": "on", f"refund-{paid.pk}-idempotency_key": key})
    assert response.status_code == 400
    html = unescape(response.content.decode())
    assert f'id="id_refund-{paid.pk}-shorten-errors"' in html
    assert "Only the refund of a whole renewal payment" in html
    assert not Refund.objects.exists()
