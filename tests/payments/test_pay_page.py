"""The link in a subscriber's payment email: a signed page that says what to do."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from apps.payments.charges import payment_action_url
from apps.payments.models import Payment, PaymentState
from apps.payments.selectors import payment_from_link

from .cards import priced_plan, renewing_account, seller

pytestmark = pytest.mark.django_db


def _payment(state: str) -> Payment:
    reseller = seller(keys=False)
    account = renewing_account(reseller, priced_plan(reseller), source="card",
                               now=timezone.now())
    now = timezone.now()
    return Payment.objects.create(
        reseller=reseller, subscriber=account.subscriber, account=account, livemode=False,
        source="card", purpose="renewal", state=state, amount=999, currency="EUR",
        purpose_key=f"renewal:{account.pk}:x", idempotency_key=f"renewal:{account.pk}:x:1",
        period_expires_at=account.expires_at, months=1, created_at=now, updated_at=now)


@pytest.mark.parametrize(("state", "says"), [
    (PaymentState.REQUIRES_ACTION, "Your bank asks you to confirm this payment."),
    (PaymentState.FAILED, "Your card was declined."),
    (PaymentState.SUCCEEDED, "This payment has been received."),
    (PaymentState.PROCESSING, "This payment is being processed."),
])
def test_the_emailed_link_names_the_payment_and_what_to_do(client: Client, state: str,
                                                            says: str) -> None:
    payment = _payment(state)
    url = payment_action_url(payment)
    assert "/pay/" in url
    response = client.get(url[url.index("/pay/"):])
    assert response.status_code == 200
    html = response.content.decode()
    assert says in html
    assert payment.account is not None
    assert "€9.99" in html and payment.account.username in html


def test_a_tampered_link_is_not_a_payment(client: Client) -> None:
    payment = _payment(PaymentState.FAILED)
    url = payment_action_url(payment)
    token = url[url.index("/pay/") + 5:].rstrip("/")
    assert payment_from_link(token) == payment
    assert payment_from_link(token[:-2] + "xx") is None
    response = client.get(f"/pay/{token[:-2]}xx/")
    assert response.status_code == 404
    assert "This link has expired" in response.content.decode()


def test_the_page_is_in_spanish_for_a_spanish_browser(client: Client) -> None:
    payment = _payment(PaymentState.FAILED)
    url = payment_action_url(payment)
    response = client.get(url[url.index("/pay/"):], HTTP_ACCEPT_LANGUAGE="es")
    assert "Tu tarjeta ha sido rechazada." in response.content.decode()
