"""`manage.py seed_demo`: twice on the embedded SQLite default (nothing is created twice),
and on PostgreSQL, what the two demo resellers look like to their owners."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.accounts.models import Reseller, User
from apps.crm.models import Note
from apps.notifications.models import Delivery, OutboxMessage, OutboxStatus
from apps.notifications.services import notification_settings_for
from apps.subscriptions.models import (
    AccountStatus,
    DunningCase,
    OperationStatus,
    PendingOperation,
    PlanPrice,
    ServiceAccount,
    SubscriptionSettings,
)

ROOT = Path(__file__).resolve().parent.parent
COUNT = """
import json
from django.apps import apps
print(json.dumps({m._meta.label_lower: m.objects.count() for m in apps.get_models()
                  if m._meta.app_label in ("accounts", "credits", "subscriptions", "audit", "notifications",
                                          "crm", "payments")}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_seed_demo_twice_on_sqlite_creates_nothing_twice(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "billing_panel.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "CACHE_URL": "locmemcache://",
        "SECRET_KEY": "seed-test",
        "FIELD_ENCRYPTION_KEYS": "mGl2EMx4aVXszbwGy7h6mmGEJ3uEqxG5dnzQYQ1E1Ts=",
    }
    manage(env, "migrate", "--noinput", "-v0")
    first_output = manage(env, "seed_demo", "--mail-dir", str(tmp_path / "mail"))
    first = json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])
    manage(env, "seed_demo", "--mail-dir", str(tmp_path / "mail"))
    second = json.loads(manage(env, "shell", "-c", COUNT).strip().splitlines()[-1])

    assert first == second
    assert first["subscriptions.subscriber"] == 200
    assert first["subscriptions.serviceaccount"] == 200
    assert first["accounts.reseller"] == 2
    assert first["accounts.staffmembership"] == 10
    assert first["subscriptions.plan"] == 8
    assert first["notifications.outboxmessage"] > 200
    assert "owner@demo.example" in first_output and "admin@provider.example" in first_output
    assert "owner@demo-two.example" in first_output
    assert "demo users sign in without a TOTP code" in first_output


# ---------------------------------------------------------------- on PostgreSQL, in process


def seed(mail_dir: Path) -> str:
    out = io.StringIO()
    call_command("seed_demo", mail_dir=str(mail_dir), stdout=out)
    return out.getvalue()


def overview_as(email: str) -> str:
    client = Client()
    client.force_login(User.objects.get(email=email))
    response = client.get(reverse("dashboard:overview"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.slow
@pytest.mark.django_db
def test_seed_demo_makes_a_healthy_reseller_and_one_that_needs_attention(tmp_path: Path) -> None:
    output = seed(tmp_path / "mail")
    healthy = Reseller.objects.get(slug="demo")
    unhealthy = Reseller.objects.get(slug="demo-two")
    floor = SubscriptionSettings.objects.get(reseller=healthy).credit_floor

    # The healthy one: above its floor, nothing waiting, every email really sent.
    assert floor > 0 and healthy.credit_balance > floor
    assert not PendingOperation.objects.filter(reseller=healthy,
                                               status=OperationStatus.WAITING).exists()
    assert notification_settings_for(healthy.pk).delivery == Delivery.PANEL
    outbox = OutboxMessage.objects.filter(reseller=healthy)
    assert outbox.count() > 100
    assert set(outbox.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert not outbox.filter(sent_at__isnull=True).exists()
    assert not outbox.exclude(provider_message_id__startswith="<").exists()
    assert list((tmp_path / "mail").iterdir())
    statuses = Counter(ServiceAccount.objects.filter(reseller=healthy)
                       .values_list("status", flat=True))
    for status in (AccountStatus.ACTIVE, AccountStatus.GRACE, AccountStatus.SUSPENDED,
                   AccountStatus.TERMINATED):
        assert statuses[status] >= 3, status
    now = timezone.now()
    expiring_soon = ServiceAccount.objects.filter(
        reseller=healthy, status=AccountStatus.ACTIVE,
        expires_at__range=(now, now + dt.timedelta(days=7)),
    ).count()
    assert expiring_soon >= 3
    assert Note.objects.filter(reseller=healthy).count() >= 3
    assert set(PlanPrice.objects.filter(plan__reseller=healthy)
               .values_list("currency", flat=True)) == {"EUR", "USD"}
    page = overview_as("owner@demo.example")
    assert 'id="email-warning"' not in page
    assert "The balance is below the floor." not in page

    # The one that needs attention: below its floor, credits waiting, no email, failed payments.
    assert unhealthy.credit_balance < floor
    assert PendingOperation.objects.filter(reseller=unhealthy,
                                           status=OperationStatus.WAITING).count() >= 3
    assert ServiceAccount.objects.filter(reseller=unhealthy,
                                         status=AccountStatus.PENDING).exists()
    assert OutboxMessage.objects.filter(
        reseller=unhealthy, status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND).count() > 10
    assert DunningCase.objects.filter(reseller=unhealthy).count() >= 2
    page = overview_as("owner@demo-two.example")
    assert 'id="email-warning"' in page
    assert "The balance is below the floor." in page

    # Both logins, and how two-factor works, are printed.
    assert "owner@demo.example" in output and "owner@demo-two.example" in output
    assert "demo users sign in without a TOTP code" in output
    assert "otpauth://" not in output


@pytest.mark.slow
@pytest.mark.django_db
def test_seed_demo_prints_the_totp_secret_of_a_demo_user_who_set_one_up(tmp_path: Path) -> None:
    seed(tmp_path / "mail")
    owner = User.objects.get(email="owner@demo.example")
    device = TOTPDevice.objects.create(user=owner, name="authenticator", confirmed=True)
    before = OutboxMessage.objects.count(), ServiceAccount.objects.count(), Note.objects.count()

    output = seed(tmp_path / "mail")

    secret = base64.b32encode(device.bin_key).decode()
    assert f"owner@demo.example signs in with a TOTP code: secret {secret}" in output
    assert device.config_url in output and device.config_url.startswith("otpauth://totp/")
    assert "the other demo users sign in without a TOTP code" in output
    assert (OutboxMessage.objects.count(), ServiceAccount.objects.count(),
            Note.objects.count()) == before
