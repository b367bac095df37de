"""The beat entry, the operators' command, the settings selector and the renewal queue."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from apps.notifications.selectors import reseller_settings_get, with_last_notification
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import account_create, subscription_settings_update
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM, grant
from ..factories import SubscriberFactory
from . import sweep_scenario


def test_the_beat_entry_exists_after_migrating(db):
    # Migrate back past the entry and forward again: the migration is what makes it
    # (a transactional test elsewhere may have flushed the one the test database got).
    executor = MigrationExecutor(connection)
    executor.migrate([("subscriptions", "0002_lifecycle_automation")])
    assert not PeriodicTask.objects.filter(name="renewal-sweep").exists()
    executor = MigrationExecutor(connection)
    executor.migrate([("subscriptions", "0003_sweep_beat_entry")])
    task = PeriodicTask.objects.get(name="renewal-sweep")
    assert task.task == "subscriptions.sweep" and task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")


def test_the_sweep_command_dry_run_counts_and_changes_nothing(db, capsys):
    reseller = sweep_scenario.build()
    before = sweep_scenario.fingerprint(reseller)
    call_command("sweep", "--now", NOW.isoformat(), "--dry-run", "--reseller", reseller.slug)
    captured = capsys.readouterr()
    assert "Would do" in captured.out and "expired 1" in captured.out
    assert "expiry done" in captured.err  # the progress lines
    assert sweep_scenario.fingerprint(reseller) == before
    call_command("sweep", "--now", NOW.isoformat(), "--reseller", reseller.slug, "--json")
    summary = json.loads(capsys.readouterr().out)
    assert (summary["expired"], summary["terminated"], summary["errors"]) == (1, 1, 0)
    with pytest.raises(CommandError, match="timezone offset"):
        call_command("sweep", "--now", "2026-03-10T12:00:00")
    with pytest.raises(CommandError, match="No reseller"):
        call_command("sweep", "--reseller", "nobody")


def test_one_selector_reads_both_settings_with_the_resellers_policy(reseller):
    settings = reseller_settings_get(reseller, actor=SYSTEM)
    assert settings.reminder_offsets == [7, 3, 1, 0]
    assert (settings.grace_hours, settings.termination_after_days) == (48, 30)
    assert (settings.dunning_reminder_days, settings.dunning_suspend_days,
            settings.dunning_terminate_days, settings.renewal_lead_days) == (1, 3, 7, 3)
    assert settings.reactivation_policy == "from_expiry"
    assert not settings.email_delivery_configured and settings.delivery == "none"
    subscription_settings_update(actor=SYSTEM, reseller=reseller,
                                 reactivation_policy="from_renewal", timezone="Europe/Madrid",
                                 reminder_offsets="14, 2")
    settings = reseller_settings_get(reseller, actor=SYSTEM)
    assert (settings.reactivation_policy, settings.timezone) == ("from_renewal", "Europe/Madrid")
    assert settings.reminder_offsets == [14, 2]


def test_the_renewal_queue_says_why_and_the_last_notification(reseller, plan,
                                                              django_assert_max_num_queries):
    grant(reseller, 50)
    for i in range(4):
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=plan, now=NOW - dt.timedelta(days=27, hours=i))
    sweep(now=NOW)  # the three-day reminders go out
    with django_assert_max_num_queries(3):
        rows = list(with_last_notification(renewal_queue(reseller, actor=SYSTEM, now=NOW)))
    assert {getattr(r, "queue_reason") for r in rows} == {"reminded"}  # noqa: B009
    assert {getattr(r, "last_notification_event") for r in rows} == {"renewal_reminder"}  # noqa: B009
    assert {getattr(r, "last_notification_status") for r in rows} == {"not_sent_no_email_backend"}  # noqa: B009
    for i in range(10):
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=plan, now=NOW - dt.timedelta(days=28, hours=i))
    with django_assert_max_num_queries(3):
        assert len(list(renewal_queue(reseller, actor=SYSTEM, now=NOW))) == 14
    assert ServiceAccount.objects.filter(reseller=reseller).count() == 14


def test_an_idle_sweep_costs_the_same_whatever_the_number_of_accounts(reseller, plan):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    grant(reseller, 100)

    def add(count: int) -> None:
        for _ in range(count):
            account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                           plan=plan, now=NOW)

    def idle_queries() -> int:
        with CaptureQueriesContext(conn) as captured:
            assert sweep(now=NOW + dt.timedelta(days=2)).items == 0
        return len(captured.captured_queries)

    add(3)
    few = idle_queries()
    add(30)
    assert idle_queries() == few
