"""apps.core.db's helpers keep on SQLite the contract their PostgreSQL statements have."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from apps.core.db import insert_instance, insert_rows, update_instance
from apps.subscriptions.models import ReminderLog, ServiceAccount
from apps.subscriptions.services import account_create
from tests.conftest import NOW, SYSTEM

pytestmark = pytest.mark.django_db


def reminder(account: ServiceAccount, offset: int, **extra: object) -> dict[str, object]:
    return {"reseller_id": account.reseller_id, "account_id": account.pk,
            "period_expires_at": account.expires_at, "offset_days": offset, "livemode": True,
            "created_at": NOW, **extra}


def test_insert_rows_ignoring_conflicts_returns_only_the_rows_it_inserted(active_account):
    first = insert_rows(ReminderLog, [reminder(active_account, 3)], skip_conflict_on="reminder_once_per_period_offset",
                        returning=("offset_days",))
    again = insert_rows(ReminderLog, [
        reminder(active_account, offset, created_at=NOW + dt.timedelta(hours=1))
        for offset in (3, 1)
    ], skip_conflict_on="reminder_once_per_period_offset", returning=("offset_days",))
    assert first == [(3,)] and again == [(1,)]
    assert sorted(ReminderLog.objects.filter(account=active_account)
                  .values_list("offset_days", "created_at")) == [
        (1, NOW + dt.timedelta(hours=1)), (3, NOW)]


def test_insert_rows_returns_the_new_ids(active_account):
    returned = insert_rows(ReminderLog, [reminder(active_account, n) for n in (7, 1)],
                           returning=("offset_days", "id"))
    assert dict(returned) == dict(ReminderLog.objects.values_list("offset_days", "id"))


def test_insert_instance_of_a_taken_key_is_false_and_writes_nothing(active_account):
    taken = ServiceAccount(reseller_id=active_account.reseller_id,
                           subscriber_id=active_account.subscriber_id,
                           plan_id=active_account.plan_id, username=active_account.username,
                           password_encrypted="x", status="pending", status_changed_at=NOW,
                           created_at=NOW)
    assert insert_instance(taken, skip_conflict_on="account_username_unique") is False
    assert ServiceAccount.objects.count() == 1


def test_update_instance_of_a_missing_row_raises_does_not_exist(active_account):
    gone = ServiceAccount(pk=active_account.pk + 10_000, status="suspended")
    with pytest.raises(ServiceAccount.DoesNotExist):
        update_instance(gone, ["status"])
    active_account.status = "suspended"
    update_instance(active_account, ["status", "updated_at"])
    assert ServiceAccount.objects.get(pk=active_account.pk).status == "suspended"


def test_insert_instance_skips_only_the_named_constraint(active_account):
    taken_pk = ServiceAccount(pk=active_account.pk, reseller_id=active_account.reseller_id,
                              subscriber_id=active_account.subscriber_id,
                              plan_id=active_account.plan_id, username="free.name",
                              password_encrypted="x", status="pending", status_changed_at=NOW,
                              created_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_instance(taken_pk, skip_conflict_on="account_username_unique")
    assert ServiceAccount.objects.count() == 1


def test_account_create_reports_another_unique_violation_as_itself(active_account, plan):
    with connection.cursor() as cursor:
        cursor.execute("CREATE UNIQUE INDEX test_one_account_per_subscriber "
                       "ON subscriptions_serviceaccount (subscriber_id)")
    with pytest.raises(IntegrityError, match="subscriber_id"):
        account_create(actor=SYSTEM, subscriber=active_account.subscriber, plan=plan,
                       username="free.name", now=NOW)


def test_insert_rows_skips_only_the_named_constraint(active_account):
    taken = ReminderLog.objects.create(**reminder(active_account, 3))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(ReminderLog, [reminder(active_account, 1, id=taken.pk)],
                    skip_conflict_on="reminder_once_per_period_offset")
