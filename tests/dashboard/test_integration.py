"""The dashboard on the notifications outbox, the lifecycle settings and the API services.

Email goes to a real SMTP server (aiosmtpd) through the reseller's own settings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.api.models import ApiKey, WebhookEndpoint
from apps.core import crypto
from apps.notifications.models import NotificationSettings, NotificationTemplate, OutboxMessage
from apps.notifications.services import (
    MAX_ATTEMPTS,
    outbox_backlog_send,
    outbox_deliver,
    outbox_deliver_due,
)
from apps.subscriptions.models import ServiceAccount, SubscriptionSettings
from apps.subscriptions.services import account_set_auto_renew
from apps.subscriptions.sweep import credits_needed_within
from tests.conftest import SYSTEM, grant
from tests.factories import SubscriberFactory
from tests.mailserver import MailCatcher, running_smtp_server
from tests.notifications.helpers import use_smtp

from .conftest import World, make_account
from .test_forms import error_beside

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp() -> Iterator[tuple[MailCatcher, int]]:
    with running_smtp_server() as server:
        yield server


def create_account(client: Client, world: World, **extra: object) -> str:
    data = {"name": "Carla", "email": "carla@example.com", "plan": world.plan.pk, "months": 1,
            "confirm": "1", **extra}
    response = client.post(reverse("dashboard:account_new"), data)
    assert response.status_code == 200
    return response.content.decode()


def outcome(page: str) -> str:
    found = re.search(r'id="welcome" data-outcome="([a-z_]*)"', page)
    assert found, page
    return found.group(1)


# ---------------------------------------------------------------- 1. email through the outbox


def test_new_account_page_without_email_delivery_says_not_sent(world, signed_in):
    page = create_account(signed_in(world.reseller, "owner"), world)
    account = ServiceAccount.objects.get(subscriber__name="Carla")
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.status == "not_sent_no_email_backend"
    assert outcome(page) == "not_configured"
    assert "no email delivery is configured" in page


def test_new_account_page_shows_queued_then_sent_through_smtp(world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    client = signed_in(world.reseller, "owner")
    page = create_account(client, world)
    account = ServiceAccount.objects.get(subscriber__name="Carla")
    assert outcome(page) == "queued"
    assert 'hx-trigger="every 3s"' in page  # the page polls until the row is delivered
    outbox_deliver_due()
    status = client.get(reverse("dashboard:welcome_status", args=[account.pk])).content.decode()
    assert outcome(status) == "sent" and "hx-trigger" not in status
    # The fixture's held welcome waits for the reseller's choice: setting delivery up
    # does not send it.
    assert catcher.wait_for(1, 5)
    assert len(catcher.received) == 1
    carla = [r for r in catcher.received if r.recipients == ["carla@example.com"]]
    assert len(carla) == 1 and account.username in carla[0].text
    # The dashboard sent nothing of its own: one welcome row, one email.
    assert OutboxMessage.objects.filter(account=account, event="welcome").count() == 1


def test_new_account_page_shows_the_servers_error_when_delivery_failed(world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    catcher.refuse_with = "554 5.7.1 Relay access denied"
    client = signed_in(world.reseller, "owner")
    create_account(client, world)
    account = ServiceAccount.objects.get(subscriber__name="Carla")
    row = OutboxMessage.objects.get(account=account, event="welcome")
    now = timezone.now()
    for attempt in range(MAX_ATTEMPTS):
        outbox_deliver(message_id=row.pk, now=now + dt.timedelta(hours=attempt + 1))
    row.refresh_from_db()
    assert row.status == "failed"
    status = client.get(reverse("dashboard:welcome_status", args=[account.pk])).content.decode()
    assert outcome(status) == "failed"
    assert "554" in status and "Relay access denied" in status
    page = client.get(reverse("dashboard:subscriber", args=[account.subscriber_id]))
    assert "Relay access denied" in page.content.decode()


def test_pending_account_has_no_welcome_yet(world, signed_in):
    client = signed_in(world.other, "owner")
    page = client.post(reverse("dashboard:account_new"), {
        "name": "Poor", "plan": world.other_account.plan_id, "months": 12, "confirm": "1",
    }).content.decode()
    assert outcome(page) == ""
    assert "not sent until the account is active" in page


def test_resend_welcome_is_an_outbox_row_sent_once_per_click(world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    client = signed_in(world.reseller, "support")
    url = reverse("dashboard:welcome", args=[world.account.pk])
    before = OutboxMessage.objects.filter(account=world.account, event="welcome").count()
    client.post(url)
    client.post(url)  # a double click within the minute finds the same row
    rows = OutboxMessage.objects.filter(account=world.account, event="welcome")
    assert rows.count() == before + 1
    outbox_deliver_due()
    assert catcher.wait_for(1, 5)
    assert world.account.username in catcher.received[-1].text


def test_bulk_reminder_goes_out_through_the_resellers_smtp(world, signed_in, smtp):
    catcher, port = smtp
    use_smtp(world.reseller, port)
    world.subscriber.email = "ana@example.com"
    world.subscriber.save()
    client = signed_in(world.reseller, "support")
    response = client.post(reverse("dashboard:subscribers_bulk"),
                           {"action": "remind", "account": [world.account.pk]}, follow=True)
    assert "queued 1" in response.content.decode()
    outbox_deliver_due()
    assert catcher.wait_for(1, 5)
    assert ["ana@example.com"] in [r.recipients for r in catcher.received]


def test_test_email_reports_success_or_the_servers_own_error(world, signed_in, smtp):
    catcher, port = smtp
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_test_email")
    page = client.post(url, {"to": "me@example.com"}, follow=True).content.decode()
    assert "No email delivery is configured" in page
    use_smtp(world.reseller, port)
    page = client.post(url, {"to": "me@example.com"}, follow=True).content.decode()
    assert "Test email sent to me@example.com" in page
    assert catcher.wait_for(1, 5)
    catcher.refuse_with = "550 5.1.1 Mailbox unavailable"
    page = client.post(url, {"to": "me@example.com"}, follow=True).content.decode()
    assert "550 5.1.1 Mailbox unavailable" in page
    response = client.post(url, {"to": "not-an-address"})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "id_to")


# ---------------------------------------------------------------- 2. the red banner


def test_banner_reads_the_outbox_warning_and_links_to_the_settings(world, signed_in, smtp):
    _, port = smtp
    client = signed_in(world.reseller, "viewer")
    page = client.get("/").content.decode()
    assert 'id="email-warning"' in page
    held = OutboxMessage.objects.filter(reseller=world.reseller,
                                        status="not_sent_no_email_backend").count()
    assert held >= 1
    assert f"No email delivery is configured: {held} email" in page
    assert f'href="{reverse("dashboard:settings_notifications")}"' in page
    use_smtp(world.reseller, port)
    # Delivery works; what was held before waits for the reseller's choice, and says so.
    assert f"{held} email" in client.get("/").content.decode()
    outbox_backlog_send(actor=SYSTEM, reseller=world.reseller)
    assert 'id="email-warning"' not in client.get("/").content.decode()
    row = OutboxMessage.objects.filter(reseller=world.reseller).first()
    assert row is not None
    OutboxMessage.objects.filter(pk=row.pk).update(status="failed", last_error="421 busy")
    page = client.get("/").content.decode()
    assert "1 email failed to send" in page


# ---------------------------------------------------------------- 3. settings


def test_subscription_settings_save_and_bad_input_saves_nothing(world, signed_in):
    client = signed_in(world.reseller, "admin")
    url = reverse("dashboard:settings_subscription")
    good = {"reminder_offsets": "7, 3, 0", "grace_hours": 24, "termination_after_days": 20,
            "renewal_lead_days": 1, "dunning_reminder_days": 1, "dunning_suspend_days": 3,
            "dunning_terminate_days": 10, "credit_floor": 15,
            "low_credit_recipients": "boss@alpha.example"}
    assert client.post(url, good).status_code == 302
    config = SubscriptionSettings.objects.get(reseller=world.reseller)
    assert (config.grace_hours, config.credit_floor) == (24, 15)
    assert config.reminder_offsets == [7, 3, 0]
    bad = {**good, "grace_hours": 99, "dunning_suspend_days": 50}
    response = client.post(url, bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert error_beside(page, "id_dunning_suspend_days")
    assert 'value="99"' in page  # what was typed is kept
    config.refresh_from_db()
    assert config.grace_hours == 24  # nothing half-saved
    response = client.post(url, {**good, "reminder_offsets": "7, soon"})
    assert error_beside(response.content.decode(), "id_reminder_offsets")
    response = client.post(url, {**good, "low_credit_recipients": "nope"})
    assert error_beside(response.content.decode(), "id_low_credit_recipients")


def test_notification_settings_save_events_sender_and_smtp(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_notifications")
    data = {"enabled_events": ["welcome", "expired"], "sender_name": "Alpha",
            "sender_email": "billing@alpha.example", "delivery": "smtp",
            "smtp_host": "mail.alpha.example", "smtp_port": 2525, "smtp_username": "u",
            "smtp_password": "s3cret", "smtp_security": "starttls", "esp_name": ""}
    assert client.post(url, data).status_code == 302
    config = NotificationSettings.objects.get(reseller=world.reseller)
    assert config.smtp_host == "mail.alpha.example" and config.smtp_port == 2525
    assert config.smtp_password == "s3cret" and "s3cret" not in config.smtp_password_encrypted
    assert "welcome" not in config.disabled_events and "suspended" in config.disabled_events
    # An empty password keeps the saved one; the page never shows it.
    assert client.post(url, {**data, "smtp_password": ""}).status_code == 302
    config.refresh_from_db()
    assert config.smtp_password == "s3cret"
    assert "s3cret" not in client.get(url).content.decode()
    # SMTP without a host: the error is beside the field, and nothing changes.
    response = client.post(url, {**data, "smtp_host": "", "sender_name": "Changed"})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "id_smtp_host")
    config.refresh_from_db()
    assert config.sender_name == "Alpha"
    # An email service needs its key.
    response = client.post(url, {**data, "delivery": "esp", "esp_name": "postmark"})
    assert error_beside(response.content.decode(), "id_esp_api_key")
    response = client.post(url, {**data, "smtp_port": 70000})
    assert error_beside(response.content.decode(), "id_smtp_port")


def test_template_preview_save_and_refusal(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:settings_template")
    data = {"event": "welcome", "subject": "Hello {{ subscriber_name }}",
            "text": "User {{ username }}", "html": "", "action": "preview"}
    page = client.post(url, data).content.decode()
    assert 'id="template-preview"' in page and "Hello Ana García" in page
    assert not NotificationTemplate.objects.filter(reseller=world.reseller).exists()
    response = client.post(url, {**data, "text": "{% if %}broken", "action": "save"})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "id_text")
    assert "broken" in response.content.decode()
    assert not NotificationTemplate.objects.filter(reseller=world.reseller).exists()
    assert client.post(url, {**data, "action": "save"}).status_code == 302
    template = NotificationTemplate.objects.get(reseller=world.reseller, event="welcome")
    assert template.subject == "Hello {{ subscriber_name }}"
    loaded = client.get(reverse("dashboard:settings_template"), {"event": "welcome"})
    assert "User {{ username }}" in loaded.content.decode()
    assert client.get(reverse("dashboard:settings_template"),
                      {"event": "nope"}).status_code == 404


@pytest.mark.parametrize("role", ["billing", "support", "viewer"])
def test_settings_forms_are_refused_on_the_server_below_admin(world, signed_in, role):
    client = signed_in(world.reseller, role)
    for name in ("settings_subscription", "settings_notifications", "settings_template"):
        assert client.post(reverse(f"dashboard:{name}"), {}).status_code == 403
    assert not NotificationSettings.objects.filter(reseller=world.reseller).exists()


# ---------------------------------------------------------------- 4. the subscriber page


def test_subscriber_page_lists_the_emails_and_their_delivery(world, signed_in, smtp):
    _, port = smtp
    use_smtp(world.reseller, port)
    outbox_backlog_send(actor=SYSTEM, reseller=world.reseller)
    outbox_deliver_due()
    client = signed_in(world.reseller, "viewer")
    page = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk]))
    text = page.content.decode()
    rows = re.findall(r'data-testid="notification"', text)
    assert len(rows) == OutboxMessage.objects.filter(account=world.account).count() >= 1
    assert "status-sent" in text
    # Another reseller's emails are not there.
    other = OutboxMessage.objects.filter(reseller=world.other).first()
    assert other is None or other.subject not in text or other.recipient not in text


# ---------------------------------------------------------------- 5. overview and billing


def test_overview_and_billing_show_the_floor_and_the_sweeps_figures(world, signed_in):
    from apps.subscriptions.services import subscription_settings_update

    subscription_settings_update(actor=SYSTEM, reseller=world.reseller, credit_floor=500)
    account_set_auto_renew(actor=SYSTEM, account=world.account, auto_renew=True)
    client = signed_in(world.reseller, "owner")
    now = timezone.now()
    due_30 = credits_needed_within(world.reseller, now=now, days=30)
    page = client.get("/").content.decode()
    assert '<strong id="credit-floor">500</strong>' in page
    assert f'<strong id="due-30">{due_30}</strong>' in page
    assert "The balance is below the floor." in page
    page = client.get(reverse("dashboard:billing")).content.decode()
    assert '<strong id="credit-floor">500</strong>' in page
    assert f'<strong id="due-30">{due_30}</strong>' in page


# ---------------------------------------------------------------- 6. API keys and webhooks


def test_api_key_shown_once_then_revoke_and_rotate(world, signed_in):
    client = signed_in(world.reseller, "admin")
    response = client.post(reverse("dashboard:api_key_create"), {
        "name": "Billing system", "mode": "test", "scopes": ["accounts:read", "accounts:write"]})
    page = response.content.decode()
    key = ApiKey.objects.get(reseller=world.reseller, name="Billing system")
    full = re.search(r'data-testid="shown-once">([^<]+)<', page)
    assert full and full.group(1).startswith(key.prefix)
    assert "TEST MODE" in page and response["Cache-Control"] == "no-store"
    listing = client.get(reverse("dashboard:settings_api")).content.decode()
    assert key.prefix in listing and full.group(1) not in listing
    client.post(reverse("dashboard:api_key_rotate", args=[key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None
    new = ApiKey.objects.get(rotated_from=key)
    client.post(reverse("dashboard:api_key_revoke", args=[new.pk]))
    new.refresh_from_db()
    assert new.revoked_at is not None
    response = client.post(reverse("dashboard:api_key_create"), {"name": "", "mode": "live"})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "key_name")
    assert error_beside(response.content.decode(), "key_scopes")


def test_webhook_endpoint_secret_shown_once_delete_and_redeliver(world, signed_in, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    client = signed_in(world.reseller, "owner")
    page = client.post(reverse("dashboard:webhook_create"), {
        "url": "https://hooks.alpha.example/in", "events": ["account.renewed"],
        "mode": "live"}).content.decode()
    endpoint = WebhookEndpoint.objects.get(reseller=world.reseller)
    secret = re.search(r'data-testid="shown-once">([^<]+)<', page)
    assert secret and secret.group(1) == crypto.decrypt(endpoint.secret_encrypted)
    from apps.subscriptions.services import account_renew

    grant(world.reseller, 5)
    account_renew(actor=SYSTEM, account=world.account)
    delivery = endpoint.deliveries.get()
    delivery.status = "failed"
    delivery.save(update_fields=["status"])
    listing = client.get(reverse("dashboard:settings_api")).content.decode()
    assert 'data-testid="delivery"' in listing and secret.group(1) not in listing
    client.post(reverse("dashboard:webhook_redeliver", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    client.post(reverse("dashboard:webhook_delete", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    response = client.post(reverse("dashboard:webhook_create"), {
        "url": "http://127.0.0.1/in", "events": ["account.renewed"], "mode": "live"})
    assert response.status_code == 400
    assert error_beside(response.content.decode(), "hook_url")


# ---------------------------------------------------------------- 7. renewal source


def test_new_account_renews_on_credits_by_default_or_externally(world, signed_in):
    client = signed_in(world.reseller, "owner")
    create_account(client, world)
    assert ServiceAccount.objects.get(subscriber__name="Carla").renewal_source == "complimentary"
    create_account(client, world, name="Dora", renewal_source="external")
    assert ServiceAccount.objects.get(subscriber__name="Dora").renewal_source == "external"
    preview = client.post(reverse("dashboard:account_new"), {
        "name": "Eva", "plan": world.plan.pk, "months": 1, "renewal_source": "external"})
    assert "Renewed by my billing system" in preview.content.decode()


def test_renewal_source_shown_and_changed_on_the_subscriber_page(world, signed_in):
    client = signed_in(world.reseller, "billing")
    url = reverse("dashboard:subscriber", args=[world.subscriber.pk])
    client.post(reverse("dashboard:renewal_source", args=[world.account.pk]),
                {"renewal_source": "complimentary"})
    world.account.refresh_from_db()
    assert world.account.renewal_source == "complimentary"
    assert "On my credits" in client.get(url).content.decode()
    response = client.post(reverse("dashboard:renewal_source", args=[world.account.pk]),
                           {"renewal_source": "barter"}, follow=True)
    assert "The renewal source is one of" in response.content.decode()
    world.account.refresh_from_db()
    assert world.account.renewal_source == "complimentary"


# ---------------------------------------------------------------- queries


def test_settings_and_subscriber_queries_do_not_grow_with_rows(
    world, signed_in, django_assert_max_num_queries, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    from apps.api.services import api_key_create, webhook_endpoint_create
    from apps.subscriptions.services import account_renew

    client = signed_in(world.reseller, "owner")

    def add(n: int) -> None:
        grant(world.reseller, 10 * n)
        for i in range(n):
            api_key_create(actor=SYSTEM, reseller=world.reseller, name=f"k{i}", mode="live",
                           scopes=["accounts:read"])
            webhook_endpoint_create(actor=SYSTEM, reseller=world.reseller, livemode=True,
                                    url=f"https://h{i}.example/x", events=["account.renewed"])
            subscriber = SubscriberFactory.create(reseller=world.reseller)
            make_account(world.reseller, world.plan, subscriber)
            account = make_account(world.reseller, world.plan, world.subscriber)
            account_renew(actor=SYSTEM, account=account)

    def count(url: str, limit: int) -> int:
        with django_assert_max_num_queries(limit) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    urls = [reverse("dashboard:settings_api"), reverse("dashboard:settings_staff"),
            reverse("dashboard:settings_security"),
            reverse("dashboard:subscriber", args=[world.subscriber.pk])]
    add(2)
    few = [count(url, 60) for url in urls]
    add(6)
    for url, limit in zip(urls, few, strict=True):
        assert count(url, limit) <= limit


# ---------------------------------------------------------------- 8. Spanish


def test_new_pages_speak_spanish(world, signed_in):
    client = signed_in(world.reseller, "owner")
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    settings_page = "".join(
        client.get(reverse(f"dashboard:{name}")).content.decode()
        for name in ("settings_subscription", "settings_notifications", "settings_template",
                     "settings_api"))
    for text in ("Plantillas de correo", "Claves API", "Puerto SMTP",
                 "Mínimo de créditos (aviso cuando el saldo baja de él; 0 = desactivado)",
                 "Bienvenida (con credenciales)", "Servidor SMTP"):
        assert text in settings_page, text
    page = client.get(reverse("dashboard:subscriber", args=[world.subscriber.pk]))
    text = page.content.decode()
    assert "No enviado: no hay envío de correo configurado" in text
    assert "Se renueva" in text
    overview = client.get("/").content.decode()
    assert "No hay envío de correo configurado: 1 correo a tus suscriptores no se envió." \
        in overview


def test_subscriber_page_lists_payments_recorded_through_the_api(world, signed_in):
    from apps.payments.services import payment_record

    grant(world.reseller, 5)
    payment_record(actor=SYSTEM, reseller=world.reseller, livemode=True,
                   account_id=world.account.pk, amount=999, currency="EUR",
                   reference="INV-1001", paid_at=timezone.now())
    page = signed_in(world.reseller, "billing").get(
        reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()
    assert 'data-testid="payment"' in page and "€9.99" in page and "INV-1001" in page
    page = signed_in(world.reseller, "support").get(
        reverse("dashboard:subscriber", args=[world.subscriber.pk])).content.decode()
    assert "INV-1001" not in page  # billing history is for roles that see credits
