"""An outbox row keeps the subject and the context; the body is rendered when it is sent."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core import crypto
from apps.notifications.models import OutboxMessage
from apps.notifications.services import (
    notification_template_save,
    outbox_backlog_send,
    outbox_deliver_due,
)
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import account_create, subscription_settings_update
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import SubscriberFactory
from ..mailserver import running_smtp_server
from .helpers import use_smtp


def test_the_body_is_rendered_when_the_row_is_sent_and_kept_as_sent(reseller, plan, subscriber):
    grant(reseller, 1)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.subject == "Your Monthly account is ready"
    assert (row.text_encrypted, row.html_encrypted) == ("", "")
    # The context holds the password: encrypted at rest like the body it becomes.
    assert row.context_encrypted and password not in row.context_encrypted
    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port)
        outbox_backlog_send(actor=SYSTEM, reseller=reseller)
        assert outbox_deliver_due().sent == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.context_encrypted == ""
    assert password in crypto.decrypt(row.text_encrypted)
    assert catcher.received[0].text.replace("\r\n", "\n").strip() == row.text.strip()


def test_a_template_changed_before_delivery_is_the_one_sent(reseller, plan, subscriber):
    grant(reseller, 1)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome",
                               subject="Hola", text="Clave: {{ password }}")
    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port)
        outbox_backlog_send(actor=SYSTEM, reseller=reseller)
        outbox_deliver_due()
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert (row.subject, row.text) == ("Hola", f"Clave: {password}")
    assert catcher.received[0].subject == "Hola"


def test_dates_in_emails_are_in_the_resellers_time_zone(reseller, plan, subscriber):
    reseller.timezone = "Asia/Tokyo"
    reseller.save(update_fields=["timezone"])
    notification_template_save(actor=SYSTEM, reseller=reseller, event="welcome",
                               subject="Until {{ expires_at|date:'Y-m-d H:i' }}",
                               text="Until {{ expires_at|date:'Y-m-d H:i' }}")
    grant(reseller, 1)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                now=dt.datetime(2026, 3, 10, 18, 30, tzinfo=dt.UTC))
    row = OutboxMessage.objects.get(account=account, event="welcome")
    # 18:30 UTC on 10 April is 03:30 on 11 April in Tokyo.
    assert account.expires_at == dt.datetime(2026, 4, 10, 18, 30, tzinfo=dt.UTC)
    assert row.subject == "Until 2026-04-11 03:30"
    assert row.text == "Until 2026-04-11 03:30"


def test_the_sweep_renders_each_subject_from_the_values_it_reads(reseller, plan):
    """Subjects are rendered once per distinct value of what they read: never one for another."""
    subscription_settings_update(actor=SYSTEM, reseller=reseller, reminder_offsets=[3, 1])
    notification_template_save(
        actor=SYSTEM, reseller=reseller, event="renewal_reminder",
        subject="{% if days_left > 1 %}{{ username }}: {{ days_left }} days{% else %}Tomorrow"
                "{% endif %}",
        text="Hello {{ subscriber_name }}",
    )
    grant(reseller, 10)
    made = []
    for days in (3, 3, 1, 1):
        subscriber = SubscriberFactory.create(reseller=reseller)
        account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                    now=NOW - dt.timedelta(days=30 - days))
        made.append(account)
    assert made[0].expires_at is not None
    at = made[0].expires_at - dt.timedelta(days=3)
    # Every account's reminder is due on the same day: offsets 3 and 1.
    for account, days in zip(made, (3, 3, 1, 1), strict=True):
        ServiceAccount.objects.filter(pk=account.pk).update(
            expires_at=at + dt.timedelta(days=days, hours=1))
    report = sweep(now=at)
    assert report.reminders == 4 and report.errors == 0
    subjects = {row.account.username: row.subject  # type: ignore[union-attr]
                for row in OutboxMessage.objects.filter(event="renewal_reminder")}
    assert subjects == {
        made[0].username: f"{made[0].username}: 3 days",
        made[1].username: f"{made[1].username}: 3 days",
        made[2].username: "Tomorrow",
        made[3].username: "Tomorrow",
    }


@pytest.mark.parametrize("livemode", [True, False])
def test_a_test_mode_subject_is_marked(reseller, plan, livemode):
    grant(reseller, 1, livemode=livemode)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.subject.startswith("[TEST] ") is (not livemode)
