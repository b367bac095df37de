"""The settings forms in the Django admin: they render, save through services, refuse bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.notifications.models import NotificationSettings, NotificationTemplate
from apps.subscriptions.models import SubscriptionSettings


@pytest.fixture
def admin_client_logged(client, db):
    user = User.objects.create_superuser("root@provider.example", "pw-root-123456")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", ["subscriptions/subscriptionsettings",
                                   "notifications/notificationsettings",
                                   "notifications/notificationtemplate",
                                   "notifications/outboxmessage"])
def test_admin_pages_render(admin_client_logged, model):
    app, name = model.split("/")
    assert admin_client_logged.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200
    if name != "outboxmessage":
        assert admin_client_logged.get(reverse(f"admin:{app}_{name}_add")).status_code == 200


def test_admin_saves_subscription_settings_and_the_resellers_policy(admin_client_logged,
                                                                    reseller):
    data = {
        "reseller": reseller.pk, "reminder_offsets": "10, 2", "grace_hours": 24,
        "termination_after_days": 15, "dunning_reminder_days": 1, "dunning_suspend_days": 2,
        "dunning_terminate_days": 5, "renewal_lead_days": 2, "credit_floor": 10,
        "low_credit_recipients": "ops@r.example", "reactivation_policy": "from_renewal",
        "timezone": "Europe/Madrid",
    }
    url = reverse("admin:subscriptions_subscriptionsettings_add")
    response = admin_client_logged.post(url, {**data, "reminder_offsets": "10, 99"})
    assert response.status_code == 200 and b"from 0 to 60" in response.content
    assert not SubscriptionSettings.objects.exists()
    response = admin_client_logged.post(url, data)
    assert response.status_code == 302
    saved = SubscriptionSettings.objects.get(reseller=reseller)
    assert (saved.reminder_offsets, saved.grace_hours) == ([10, 2], 24)
    reseller.refresh_from_db()
    assert (reseller.reactivation_policy, reseller.timezone) == ("from_renewal", "Europe/Madrid")


def test_admin_saves_notification_settings_with_the_password_encrypted(admin_client_logged,
                                                                       reseller):
    data = {"reseller": reseller.pk, "sender_name": "Shop", "sender_email": "b@shop.example",
            "delivery": "smtp", "smtp_host": "mail.shop.example", "smtp_port": 587,
            "smtp_username": "u", "smtp_password": "pa55word", "smtp_security": "starttls",
            "esp_name": ""}
    url = reverse("admin:notifications_notificationsettings_add")
    response = admin_client_logged.post(url, {**data, "smtp_port": 99999})
    assert response.status_code == 200 and not NotificationSettings.objects.exists()
    assert admin_client_logged.post(url, data).status_code == 302
    saved = NotificationSettings.objects.get(reseller=reseller)
    assert saved.smtp_password == "pa55word" and "pa55word" not in saved.smtp_password_encrypted


def test_admin_refuses_a_template_that_does_not_render(admin_client_logged, reseller):
    url = reverse("admin:notifications_notificationtemplate_add")
    data = {"reseller": reseller.pk, "event": "expired", "subject": "Expired",
            "text": "{% for x in %}", "html": ""}
    response = admin_client_logged.post(url, data)
    assert response.status_code == 200 and b"does not render" in response.content
    assert not NotificationTemplate.objects.exists()
    response = admin_client_logged.post(url, {**data, "text": "Gone: {{ username }}"})
    assert response.status_code == 302
    template = NotificationTemplate.objects.get()
    page = admin_client_logged.get(
        reverse("admin:notifications_notificationtemplate_change", args=[template.pk]))
    assert b"Gone: anagarcia123456" in page.content  # the preview, from sample values
