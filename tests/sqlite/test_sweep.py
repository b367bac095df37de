"""The renewal sweep on SQLite: a simulated month, a second run, a failed batch, the flock."""

from __future__ import annotations

import datetime as dt
import fcntl
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection

from apps.core.dates import add_months
from apps.credits.models import CreditLedgerEntry
from apps.notifications.models import OutboxMessage
from apps.notifications.services import notification_settings_update, outbox_deliver_due
from apps.payments.services import account_set_renewal_source
from apps.subscriptions.models import ReminderLog, ServiceAccount
from apps.subscriptions.services import account_create, subscription_settings_update
from apps.subscriptions.sweep import sweep
from tests.conftest import NOW, SYSTEM, grant
from tests.factories import SubscriberFactory
from tests.subscriptions import sweep_scenario

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def test_a_month_walked_twice_a_day_moves_each_account_once_and_mails_once(reseller, plan):
    notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="panel")
    subscription_settings_update(actor=SYSTEM, reseller=reseller, termination_after_days=5)
    grant(reseller, 10, now=NOW)
    with time_machine.travel(NOW, tick=False):
        lapsing, _ = account_create(actor=SYSTEM, plan=plan, now=NOW,
                                    subscriber=SubscriberFactory.create(reseller=reseller))
        renewing, _ = account_create(actor=SYSTEM, plan=plan, now=NOW,
                                     subscriber=SubscriberFactory.create(reseller=reseller))
        account_set_renewal_source(actor=SYSTEM, account=renewing, source="complimentary")
    expiry = lapsing.expires_at
    assert expiry is not None

    first_seen: dict[str, dt.datetime] = {}
    for tick in range(80):  # 40 days, at 00:00 and 12:00 and a minute past
        at = NOW + dt.timedelta(hours=12 * tick, minutes=1)
        with time_machine.travel(at, tick=False):
            report = sweep(now=at)
            assert report.errors == 0 and not report.locked_out, report.error_messages
            assert sweep(now=at).items == 0, f"a second run at {at} found work"
            outbox_deliver_due(now=at)
        first_seen.setdefault(ServiceAccount.objects.get(pk=lapsing.pk).status, at)

    assert first_seen["grace"] - expiry < dt.timedelta(hours=12)
    assert first_seen["suspended"] - first_seen["grace"] == 2 * DAY  # 48 hours of grace
    assert first_seen["terminated"] - first_seen["suspended"] == 5 * DAY
    assert sorted(ReminderLog.objects.filter(account=lapsing)
                  .values_list("offset_days", flat=True)) == [0, 1, 3, 7]

    renewed = ServiceAccount.objects.get(pk=renewing.pk)
    assert renewed.status == "active" and renewed.expires_at == add_months(expiry, 1)
    assert CreditLedgerEntry.objects.filter(account=renewing, kind="renewal").count() == 1

    to_lapsing = [m.subject for m in mail.outbox if m.to == [lapsing.subscriber.email]]
    assert Counter(to_lapsing) == Counter({
        f"Your {plan.name} account is ready": 1, "Your account expires in 7 days": 1, "Your account expires in 3 days": 1,
        "Your account expires in 1 day": 1, "Your account expires today": 1,
        "Your account has expired": 1, "Your account is suspended": 1,
        "Your account is closed": 1,
    })
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_the_sweep_twice_at_one_moment_ends_as_one_clean_run(db):
    once = sweep_scenario.build()
    twice = sweep_scenario.build()
    report = sweep(now=NOW, reseller_slug=once.slug)
    assert (report.renewed, report.expired, report.suspended, report.terminated,
            report.reminders, report.credit_floor_alerts, report.errors) == (1, 1, 1, 1, 1, 1, 0)
    sweep(now=NOW, reseller_slug=twice.slug)
    assert sweep(now=NOW, reseller_slug=twice.slug).items == 0
    assert sweep_scenario.fingerprint(twice) == sweep_scenario.fingerprint(once)


def test_a_failing_batch_goes_one_by_one_and_the_next_run_finishes_it(db):
    reference = sweep_scenario.build()
    sweep(now=NOW, reseller_slug=reference.slug)
    reseller = sweep_scenario.build()
    stuck = ServiceAccount.objects.get(reseller=reseller, subscriber__name="expiring0")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER fail_one BEFORE INSERT ON subscriptions_accountevent "
            f"WHEN NEW.account_id = {stuck.pk} AND NEW.actor_label = 'renewal-sweep' "
            "BEGIN SELECT RAISE(ABORT, 'disk full (injected)'); END"
        )
    crashed = sweep(now=NOW, reseller_slug=reseller.slug)
    # Only the one account failed; its batch's others went through one at a time.
    assert crashed.errors == 1 and "disk full" in crashed.error_messages[0]
    assert ServiceAccount.objects.get(pk=stuck.pk).status == "active"
    assert crashed.suspended == crashed.terminated == 1
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER fail_one")
    again = sweep(now=NOW, reseller_slug=reseller.slug)
    assert (again.errors, again.expired) == (0, 1)
    assert sweep_scenario.fingerprint(reseller) == sweep_scenario.fingerprint(reference)


def test_the_singleton_lock_is_an_flock_on_var_sweep_lock(db):
    reseller = sweep_scenario.build()
    before = sweep_scenario.fingerprint(reseller)
    with open(settings.VAR_DIR / "sweep.lock", "a+") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another sweep's process
        report = sweep(now=NOW, reseller_slug=reseller.slug)
        assert report.locked_out and report.items == 0
        assert sweep_scenario.fingerprint(reseller) == before
        fcntl.flock(other, fcntl.LOCK_UN)
    report = sweep(now=NOW, reseller_slug=reseller.slug)
    assert not report.locked_out and report.items > 0
    # Released after the run: the next one takes it.
    assert not sweep(now=NOW, reseller_slug=reseller.slug).locked_out
