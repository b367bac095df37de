"""Outbox delivery through the reseller's own settings, caught by a real SMTP server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from apps.notifications.models import OutboxMessage
from apps.notifications.selectors import email_delivery_warning
from apps.notifications.services import (
    MAX_ATTEMPTS,
    notification_settings_update,
    outbox_backlog_send,
    outbox_deliver_due,
    send_test_email,
)
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import account_create
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import SubscriberFactory
from ..mailserver import MailCatcher, running_smtp_server
from .helpers import use_smtp

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def smtp() -> Iterator[tuple[MailCatcher, int]]:
    with running_smtp_server() as server:
        yield server


def _new_account(reseller, plan, *, now=NOW, livemode=True) -> ServiceAccount:
    grant(reseller, 1, now=now, livemode=livemode)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=now)
    return account


def test_without_email_delivery_rows_are_kept_and_the_warning_is_loud(reseller, plan, smtp):
    catcher, port = smtp
    account = _new_account(reseller, plan)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.status == "not_sent_no_email_backend"
    outbox_deliver_due(now=NOW + MINUTE)
    assert OutboxMessage.objects.get(pk=row.pk).status == "not_sent_no_email_backend"
    warning = email_delivery_warning(reseller, actor=SYSTEM)
    assert warning is not None and warning.held_messages == 1
    assert "No email delivery is configured" in warning.message

    # Setting delivery up sends nothing by itself; sent on the reseller's word, a reminder
    # held for more than a day is stale, and the welcome still matters and goes out.
    old = _new_account(reseller, plan, now=add_days(NOW, -40))
    assert old.expires_at is not None
    sweep(now=old.expires_at - dt.timedelta(days=1, hours=1))
    reminder = OutboxMessage.objects.get(account=old, event="renewal_reminder")
    assert reminder.status == "not_sent_no_email_backend"
    later = reminder.created_at + dt.timedelta(days=2)
    use_smtp(reseller, port, now=later)
    outbox_deliver_due(now=later)
    assert OutboxMessage.objects.get(pk=row.pk).status == "not_sent_no_email_backend"
    outbox_backlog_send(actor=SYSTEM, reseller=reseller, now=later)
    outbox_deliver_due(now=later)
    assert OutboxMessage.objects.get(pk=reminder.pk).status == "stale"
    assert OutboxMessage.objects.get(pk=row.pk).status == "sent"
    assert catcher.subjects().count("Your Monthly account is ready") == 2
    assert not any("expires" in s for s in catcher.subjects())
    assert email_delivery_warning(reseller, actor=SYSTEM) is None


def add_days(moment: dt.datetime, days: int) -> dt.datetime:
    return moment + dt.timedelta(days=days)


def test_smtp_server_down_retries_then_fails_with_its_error_and_never_duplicates(
    reseller, plan, smtp
):
    catcher, port = smtp
    use_smtp(reseller, port)
    catcher.refuse_with = "451 4.3.0 Mailbox service unavailable, try later"
    account = _new_account(reseller, plan)
    row = OutboxMessage.objects.get(account=account, event="welcome")

    at = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        outbox_deliver_due(now=at)
        row.refresh_from_db()
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "queued"
            # Backoff: the next attempt waits longer each time, and not before it is due.
            assert row.next_attempt_at == at + dt.timedelta(minutes=2 ** (attempt - 1))
            outbox_deliver_due(now=row.next_attempt_at - dt.timedelta(seconds=1))
            assert OutboxMessage.objects.get(pk=row.pk).attempts == attempt
            at = row.next_attempt_at
    assert row.status == "failed"
    assert row.last_error == "451 4.3.0 Mailbox service unavailable, try later"
    assert catcher.refused == MAX_ATTEMPTS

    catcher.refuse_with = None
    outbox_deliver_due(now=at + dt.timedelta(hours=1))
    assert catcher.received == []
    assert OutboxMessage.objects.get(pk=row.pk).status == "failed"
    warning = email_delivery_warning(reseller, actor=SYSTEM)
    assert warning is not None and warning.failed_messages == 1


def test_a_row_that_failed_once_is_delivered_exactly_once_when_the_server_is_back(
    reseller, plan, smtp
):
    catcher, port = smtp
    use_smtp(reseller, port)
    catcher.refuse_with = "421 4.7.0 Too busy"
    account = _new_account(reseller, plan)
    outbox_deliver_due(now=NOW)
    catcher.refuse_with = None
    for minutes in (1, 2, 5, 60):
        outbox_deliver_due(now=NOW + minutes * MINUTE)
    assert len(catcher.received) == 1
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert (row.status, row.attempts) == ("sent", 2)
    assert row.provider_message_id == str(catcher.received[0].message["Message-ID"])
    # No HTML template of its own: the text goes out in the default layout too.
    html = catcher.received[0].message.get_body(preferencelist=("html",))
    assert html is not None and account.username in html.get_content()
    assert "<!doctype html>" in html.get_content()


def test_with_no_server_at_all_the_error_says_so(reseller, plan):
    from ..mailserver import free_port

    use_smtp(reseller, free_port())
    account = _new_account(reseller, plan)
    outbox_deliver_due(now=NOW)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.status == "queued" and "Connection refused" in row.last_error


def test_test_mode_emails_go_to_the_reseller_and_stay_out_of_live_queues(reseller, plan, smtp):
    catcher, port = smtp
    use_smtp(reseller, port)
    account = _new_account(reseller, plan, livemode=False)
    assert account.expires_at is not None
    outbox_deliver_due(now=NOW)
    [received] = catcher.received
    assert received.recipients == [reseller.contact_email]
    assert received.subject.startswith("[TEST] ")
    sweep(now=account.expires_at + MINUTE)
    assert not renewal_queue(reseller, actor=SYSTEM, now=NOW).filter(pk=account.pk).exists()
    assert renewal_queue(reseller, actor=SYSTEM, livemode=False,
                         now=account.expires_at).filter(pk=account.pk).exists()
    assert email_delivery_warning(reseller, actor=SYSTEM) is None


def test_a_turned_off_event_sends_nothing(reseller, plan, smtp):
    catcher, port = smtp
    use_smtp(reseller, port, disabled_events=["welcome"])
    account = _new_account(reseller, plan)
    outbox_deliver_due(now=NOW)
    assert catcher.received == []
    assert OutboxMessage.objects.get(account=account, event="welcome").status == "disabled"


def test_send_test_email_reports_success_or_the_servers_own_error(reseller, smtp, capsys):
    catcher, port = smtp
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert not result.ok and "No email delivery" in result.message

    use_smtp(reseller, port)
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert result.ok and result.provider_message_id
    assert catcher.received[-1].recipients == ["me@example.org"]

    call_command("send_test_email", "--reseller", reseller.slug, "--to", "cli@example.org")
    assert "Sent to cli@example.org" in capsys.readouterr().out
    assert catcher.received[-1].recipients == ["cli@example.org"]

    catcher.refuse_with = "550 5.7.1 Relaying denied for this sender"
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert not result.ok and result.message == "550 5.7.1 Relaying denied for this sender"
    with pytest.raises(CommandError, match="Relaying denied"):
        call_command("send_test_email", "--reseller", reseller.slug, "--to", "x@example.org")


def test_the_test_email_says_where_it_went_and_leaves_a_test_row(reseller, smtp):
    catcher, port = smtp
    use_smtp(reseller, port)
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert result.outbox_id is not None
    assert (result.via, result.detail) == ("smtp", f"127.0.0.1:{port}")
    assert result.server_reply == "250 Message accepted for delivery"
    row = OutboxMessage.objects.get(pk=result.outbox_id)
    assert (row.event, row.status, row.livemode, row.recipient) == \
        ("test", "sent", False, "me@example.org")
    assert row.sent_at is not None and row.provider_message_id == result.provider_message_id
    catcher.refuse_with = "451 4.3.0 Try later"
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert result.outbox_id is not None
    row = OutboxMessage.objects.get(pk=result.outbox_id)
    assert (row.status, row.last_error) == ("failed", "451 4.3.0 Try later")
    # Not a subscriber's email: no banner, and never sent again.
    assert email_delivery_warning(reseller, actor=SYSTEM) is None
    outbox_deliver_due()
    assert OutboxMessage.objects.get(pk=row.pk).status == "failed"


def test_the_panels_own_backend_is_named(reseller, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="panel")
    result = send_test_email(actor=SYSTEM, reseller=reseller, to="me@example.org")
    assert result.ok and (result.via, result.detail) == ("panel_file", str(tmp_path))
    assert any(tmp_path.iterdir())


def test_the_smtp_password_is_stored_encrypted(reseller):
    config = notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="smtp",
                                          smtp_host="mail.example.org", smtp_username="u",
                                          smtp_password="s3cret-pass")
    assert "s3cret-pass" not in config.smtp_password_encrypted
    assert config.smtp_password == "s3cret-pass"
    # Saving without a password keeps the stored one.
    config = notification_settings_update(actor=SYSTEM, reseller=reseller, sender_name="X")
    assert config.smtp_password == "s3cret-pass"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_delivery_workers_at_once_never_send_a_row_twice():
    import threading

    from django.db import connections

    from ..factories import PlanFactory, ResellerFactory

    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port)
        grant(reseller, 12, now=NOW)
        for _ in range(12):
            account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                           plan=plan, now=NOW)
        barrier = threading.Barrier(2)

        def work() -> None:
            try:
                barrier.wait()
                outbox_deliver_due(now=NOW, batch_size=3)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    recipients = [r.recipients[0] for r in catcher.received]
    assert len(recipients) == 12 and len(set(recipients)) == 12
    assert set(OutboxMessage.objects.filter(reseller=reseller).values_list(
        "status", flat=True)) == {"sent"}
