"""Bad settings and templates get a clear error and save nothing; templates override defaults."""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationError
from apps.notifications.admin import NotificationSettingsForm, NotificationTemplateForm
from apps.notifications.models import NotificationSettings, NotificationTemplate, OutboxMessage
from apps.notifications.rendering import template_preview
from apps.notifications.services import notification_settings_update, notification_template_save
from apps.subscriptions.admin import SubscriptionSettingsForm
from apps.subscriptions.models import SubscriptionSettings
from apps.subscriptions.services import account_create, subscription_settings_update

from ..conftest import NOW, SYSTEM, grant


def _subscription_form(reseller, **changes):
    data = {
        "reseller": reseller.pk, "reminder_offsets": "7, 3, 1, 0", "grace_hours": 48,
        "termination_after_days": 30, "dunning_reminder_days": 1, "dunning_suspend_days": 3,
        "dunning_terminate_days": 7, "renewal_lead_days": 3, "credit_floor": 0,
        "low_credit_recipients": "", "reactivation_policy": "from_expiry", "timezone": "UTC",
    }
    data.update(changes)
    return SubscriptionSettingsForm(data=data)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reminder_offsets": "7, 61"}, "reminder_offsets", "from 0 to 60"),
        ({"reminder_offsets": "-1"}, "reminder_offsets", "from 0 to 60"),
        ({"reminder_offsets": "3.5"}, "reminder_offsets", "from 0 to 60"),
        ({"grace_hours": -1}, "grace_hours", ""),
        ({"timezone": "Mars/Olympus"}, "timezone", "not a timezone"),
        ({"low_credit_recipients": "ops@x.example, nope"}, "low_credit_recipients",
         "not an email address"),
        ({"dunning_suspend_days": 9}, "dunning_suspend_days", "in order"),
    ],
)
def test_bad_subscription_settings_are_a_form_error_and_save_nothing(reseller, changes, field,
                                                                      message):
    form = _subscription_form(reseller, **changes)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
    assert not SubscriptionSettings.objects.filter(reseller=reseller).exists()


def test_good_subscription_settings_are_accepted(reseller):
    form = _subscription_form(reseller, reminder_offsets="0, 14, 60")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["reminder_offsets"] == [60, 14, 0]


def test_the_service_refuses_bad_settings_too(reseller):
    with pytest.raises(ValidationError) as error:
        subscription_settings_update(actor=SYSTEM, reseller=reseller, reminder_offsets=[7, 61])
    assert error.value.code == "invalid_offset"
    with pytest.raises(ValidationError):
        subscription_settings_update(actor=SYSTEM, reseller=reseller, grace_hours=-5)
    assert not SubscriptionSettings.objects.filter(reseller=reseller).exists()


def _notification_form(reseller, **changes):
    data = {"reseller": reseller.pk, "sender_name": "Shop", "sender_email": "billing@shop.example",
            "delivery": "smtp", "smtp_host": "mail.shop.example", "smtp_port": 587,
            "smtp_username": "", "smtp_security": "starttls", "esp_name": ""}
    data.update(changes)
    return NotificationSettingsForm(data=data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sender_email": "not-an-address"}, "sender_email"),
        ({"smtp_port": 70000}, "smtp_port"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_host": ""}, "smtp_host"),
        ({"delivery": "esp", "esp_name": ""}, "esp_name"),
    ],
)
def test_bad_notification_settings_are_a_form_error_and_save_nothing(reseller, changes, field):
    form = _notification_form(reseller, **changes)
    assert not form.is_valid()
    assert form.errors[field]
    assert not NotificationSettings.objects.filter(reseller=reseller).exists()


def test_the_notification_service_refuses_a_bad_port_and_saves_nothing(reseller):
    with pytest.raises(ValidationError) as error:
        notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="smtp",
                                     smtp_host="mail.example.org", smtp_port=65536)
    assert error.value.code == "invalid_port"
    assert not NotificationSettings.objects.filter(reseller=reseller).exists()


def test_a_template_with_a_syntax_error_cannot_be_saved(reseller):
    form = NotificationTemplateForm(data={
        "reseller": reseller.pk, "event": "welcome", "subject": "Hi {{ subscriber_name }",
        "text": "{% if password %}unclosed", "html": "",
    })
    assert not form.is_valid()
    assert "does not render" in " ".join(str(e) for e in form.errors["text"])
    with pytest.raises(ValidationError) as error:
        notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome",
                                   subject="Hi", text="{% if password %}unclosed")
    assert error.value.code == "template_syntax_error" and error.value.param == "text"
    assert not NotificationTemplate.objects.exists()


def test_a_resellers_template_replaces_the_default_and_previews(reseller, plan, subscriber):
    notification_template_save(
        actor=SYSTEM, reseller=reseller, event="welcome",
        subject="Bienvenido a {{ plan_name }}",
        text="Usuario: {{ username }} / Clave: {{ password }}",
        html="<p>Usuario: <b>{{ username }}</b> {{ subscriber_name }}</p>",
    )
    preview = template_preview(reseller.pk, "welcome")
    assert preview.subject == "Bienvenido a Monthly"
    assert "Ana Garc" in preview.html and "SamplePassw0rd23" in preview.text
    grant(reseller, 1)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.subject == "Bienvenido a Monthly"
    assert row.text == f"Usuario: {account.username} / Clave: {password}"
    # The body is encrypted at rest: it carries the password.
    assert password not in row.text_encrypted


def test_html_templates_escape_what_subscribers_typed(reseller, plan):
    from ..factories import SubscriberFactory

    notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome",
                               subject="Hi", text="Hi {{ subscriber_name }}",
                               html="<p>{{ subscriber_name }}</p>")
    grant(reseller, 1)
    subscriber = SubscriberFactory.create(reseller=reseller, name="<script>x</script>")
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert "<script>" not in row.html and "&lt;script&gt;" in row.html
    assert row.text == "Hi <script>x</script>"


@pytest.mark.parametrize("esp", ["brevo", "mailersend", "mailgun", "mandrill", "postmark",
                                 "resend", "sparkpost"])
def test_every_email_service_offered_gets_an_anymail_backend_with_its_key(reseller, esp):
    from apps.notifications.services import _connection

    config = notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="esp",
                                          esp_name=esp, esp_api_key="key-123",
                                          sender_email="b@shop.example")
    backend = _connection(config)
    assert type(backend).__module__ == f"anymail.backends.{esp}"
    assert "key-123" in {str(v) for v in vars(backend).values()}
    assert "key-123" not in config.esp_api_key_encrypted
