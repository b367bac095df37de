"""The sweep walks accounts through their lifecycle; the emails arrive at a real SMTP server."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
import time_machine

from apps.accounts.models import ReactivationPolicy
from apps.core import crypto
from apps.core.dates import add_months
from apps.notifications.models import OutboxMessage
from apps.notifications.services import outbox_deliver_due
from apps.subscriptions.models import ReminderLog, ServiceAccount
from apps.subscriptions.services import account_create, account_renew, subscription_settings_update
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..mailserver import MailCatcher, running_smtp_server
from ..notifications.helpers import use_smtp

DAY = dt.timedelta(days=1)


@pytest.fixture
def smtp() -> Iterator[tuple[MailCatcher, int]]:
    with running_smtp_server() as server:
        yield server


def _sweep_and_deliver(at: dt.datetime) -> None:
    with time_machine.travel(at, tick=False):
        report = sweep(now=at)
        assert report.errors == 0, report.error_messages
        outbox_deliver_due(now=at)


def test_sixty_days_walked_day_by_day_send_each_email_once(reseller, plan, subscriber, smtp):
    catcher, port = smtp
    use_smtp(reseller, port)
    subscription_settings_update(actor=SYSTEM, reseller=reseller, termination_after_days=20)
    grant(reseller, 5, now=NOW)
    with time_machine.travel(NOW, tick=False):
        account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                           now=NOW)
    expiry = account.expires_at
    assert expiry == add_months(NOW, 1)

    statuses: dict[str, dt.datetime] = {}
    # Every morning at 06:00 UTC, six hours before the account's 12:00 expiry time.
    morning = NOW + dt.timedelta(hours=18)
    for day in range(61):
        at = morning + day * DAY
        _sweep_and_deliver(at)
        status = ServiceAccount.objects.get(pk=account.pk).status
        statuses.setdefault(status, at)

    # Expiry at the day it came, suspension when 48 hours of grace were over,
    # termination 20 days after the suspension.
    first_after_expiry = expiry + dt.timedelta(hours=18)
    assert statuses["grace"] == first_after_expiry
    assert statuses["suspended"] == first_after_expiry + 2 * DAY
    assert statuses["terminated"] == first_after_expiry + 22 * DAY
    assert sorted(ReminderLog.objects.filter(account=account).values_list(
        "offset_days", flat=True)) == [0, 1, 3, 7]

    subjects = catcher.subjects()
    assert Counter(subjects) == Counter({
        f"Your {plan.name} account is ready": 1,
        "Your account expires in 7 days": 1,
        "Your account expires in 3 days": 1,
        "Your account expires in 1 day": 1,
        "Your account expires today": 1,
        "Your account has expired": 1,
        "Your account is suspended": 1,
        "Your account is closed": 1,
    })
    assert {tuple(r.recipients) for r in catcher.received} == {(subscriber.email,)}
    welcome = catcher.received[0]
    assert password in welcome.text and account.username in welcome.text
    assert set(OutboxMessage.objects.filter(account=account).values_list("status", flat=True)) \
        == {"sent"}
    # The provider's message id is recorded for every row.
    assert all(OutboxMessage.objects.filter(account=account).values_list(
        "provider_message_id", flat=True))


@pytest.mark.parametrize(
    ("policy", "state"),
    [(ReactivationPolicy.FROM_EXPIRY, "grace"), (ReactivationPolicy.FROM_RENEWAL, "grace"),
     (ReactivationPolicy.FROM_EXPIRY, "suspended"), (ReactivationPolicy.FROM_RENEWAL, "suspended")],
)
def test_renewal_after_expiry_reactivates_with_same_credentials(active_account, reseller, policy,
                                                                 state):
    subscription_settings_update(actor=SYSTEM, reseller=reseller, reactivation_policy=policy)
    old_expiry = active_account.expires_at
    at = old_expiry + (dt.timedelta(hours=1) if state == "grace" else 3 * DAY)
    sweep(now=at)
    account = ServiceAccount.objects.get(pk=active_account.pk)
    assert account.status == state
    password = crypto.decrypt(account.password_encrypted)

    renewed_at = at + dt.timedelta(minutes=5)
    account_renew(actor=SYSTEM, account=account, now=renewed_at)
    account = ServiceAccount.objects.get(pk=active_account.pk)
    assert account.status == "active"
    assert account.username == active_account.username
    assert crypto.decrypt(account.password_encrypted) == password
    expected = (add_months(old_expiry, 1) if policy == ReactivationPolicy.FROM_EXPIRY
                else add_months(renewed_at, 1))
    assert account.expires_at == expected
    assert OutboxMessage.objects.filter(account=account, event="reactivated").count() == 1
    # Back to active: a later sweep at the same time leaves it alone.
    assert sweep(now=renewed_at).items == 0


def test_a_sweep_every_minute_for_a_day_sends_one_reminder_per_stage(reseller, plan,
                                                                     subscriber):
    grant(reseller, 5)
    start = NOW.replace(hour=12, minute=0)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                now=add_months(start, -1) + dt.timedelta(days=1, hours=6))
    # Expires tomorrow at 18:00 UTC: the one-day reminder is due today, "today" at midnight.
    assert account.expires_at == start + dt.timedelta(days=1, hours=6)
    total = 0
    for minute in range(24 * 60):
        total += sweep(now=start + dt.timedelta(minutes=minute)).reminders
    assert total == 2
    rows = OutboxMessage.objects.filter(account=account, event="renewal_reminder")
    assert sorted(rows.values_list("subject", flat=True)) == [
        "Your account expires in 1 day", "Your account expires today"]
    assert sorted(ReminderLog.objects.filter(account=account).values_list(
        "offset_days", flat=True)) == [0, 1]


def test_reminder_days_follow_the_resellers_timezone(reseller, plan, subscriber):
    subscription_settings_update(actor=SYSTEM, reseller=reseller, timezone="Pacific/Auckland",
                                 reminder_offsets=[1])
    grant(reseller, 5)
    # Expires 2026-04-10 12:00 UTC = 2026-04-11 00:00 in Auckland: the one-day reminder is due
    # at Auckland's midnight starting the 10th, 2026-04-09 12:00 UTC.
    expiry = dt.datetime(2026, 4, 10, 12, 0, tzinfo=dt.UTC)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                now=add_months(expiry, -1))
    assert sweep(now=expiry - dt.timedelta(hours=24, minutes=1)).reminders == 0
    assert sweep(now=expiry - dt.timedelta(hours=24)).reminders == 1
    assert ReminderLog.objects.filter(account=account).count() == 1
