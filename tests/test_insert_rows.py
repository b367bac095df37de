"""insert_rows: many rows in one statement, stored exactly as the ORM would store them."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.core.db import insert_rows
from apps.subscriptions.models import ReminderLog

from .conftest import NOW


def test_rows_keep_microseconds_json_and_defaults_in_one_statement(reseller):
    at = NOW.replace(microsecond=123456)
    rows = [
        {"created_at": at, "reseller_id": reseller.pk, "actor_type": "system",
         "actor_label": "tests", "action": "thing.done", "object_type": "x.y",
         "object_id": str(i), "before": {"status": "active", "when": at, "n": [1, 2]},
         "after": None, "ip": "2001:db8::1" if i else None}
        for i in range(3)
    ]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(AuditEntry, rows)
    assert len(queries.captured_queries) == 1
    stored = list(AuditEntry.objects.order_by("object_id"))
    assert [e.object_id for e in stored] == ["0", "1", "2"]
    assert all(e.created_at == at for e in stored)
    # JSON goes through the field's encoder, as the ORM's save would.
    orm = AuditEntry.objects.create(created_at=at, reseller_id=reseller.pk, actor_type="system",
                                    actor_label="tests", action="thing.done", object_type="x.y",
                                    object_id="orm", before=rows[0]["before"])
    orm.refresh_from_db()
    assert stored[0].before == orm.before and stored[0].after is None
    assert (stored[0].ip, stored[1].ip) == (None, "2001:db8::1")
    # A column the rows leave out gets the field's default.
    assert all(e.actor_api_key_id is None for e in stored)


def test_conflicts_are_skipped_and_only_new_rows_returned(reseller, active_account):
    period = active_account.expires_at
    first = insert_rows(ReminderLog, [
        {"reseller_id": reseller.pk, "account_id": active_account.pk, "period_expires_at": period,
         "offset_days": 3, "livemode": True, "created_at": NOW}
    ], skip_conflict_on="reminder_once_per_period_offset", returning=("offset_days",))
    again = insert_rows(ReminderLog, [
        {"reseller_id": reseller.pk, "account_id": active_account.pk, "period_expires_at": period,
         "offset_days": offset, "livemode": True, "created_at": NOW + dt.timedelta(hours=1)}
        for offset in (3, 1)
    ], skip_conflict_on="reminder_once_per_period_offset", returning=("offset_days",))
    assert first == [(3,)] and again == [(1,)]
    assert ReminderLog.objects.filter(account=active_account).count() == 2


def test_no_rows_is_no_statement(db):
    with CaptureQueriesContext(connection) as queries:
        assert insert_rows(ReminderLog, []) == []
    assert queries.captured_queries == []
