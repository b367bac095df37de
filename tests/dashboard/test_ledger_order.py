"""The ledger and the audit log read newest first by time, then id, with balances
that chain top down even where a movement's id runs ahead of its time."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

import pytest
import time_machine
from django.db import connection
from django.db.models import QuerySet
from django.urls import reverse

from apps.audit.services import audit_record
from apps.core.errors import PermissionDenied, ValidationError
from apps.credits.models import CreditLedgerEntry
from apps.credits.selectors import (
    LedgerFilter,
    credits_balances_after,
    credits_ledger,
    credits_ledger_export,
)
from apps.credits.services import credits_deduct
from tests.conftest import SYSTEM, grant, staff
from tests.factories import ResellerFactory

pytestmark = pytest.mark.django_db

T1 = dt.datetime(2026, 9, 19, 10, 0, tzinfo=dt.UTC)
T2 = dt.datetime(2026, 11, 1, 10, 0, tzinfo=dt.UTC)
T3 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def spend(reseller, amount: int, key: str) -> CreditLedgerEntry:
    return credits_deduct(actor=SYSTEM, reseller=reseller, amount=amount, kind="activation",
                          idempotency_key=key)


@pytest.fixture
def shuffled(db):
    """Movements written out of time order: ids 1..5 carry times T1, T3, T2, T3, T1."""
    reseller = ResellerFactory.create(timezone="UTC")
    with time_machine.travel(T1, tick=False):
        grant(reseller, 10)                  # a: T1, +10
    with time_machine.travel(T3, tick=False):
        grant(reseller, 5)                   # b: T3, +5
    with time_machine.travel(T2, tick=False):
        spend(reseller, 3, "back-dated")     # c: T2, -3 (written after b)
    with time_machine.travel(T3, tick=False):
        spend(reseller, 1, "same-instant")   # d: T3, -1 (same time as b, later id)
    with time_machine.travel(T1, tick=False):
        spend(reseller, 2, "oldest-spend")   # e: T1, -2 (same time as a, later id)
    return reseller


def expected_order(reseller) -> list[int]:
    rows = CreditLedgerEntry.objects.filter(reseller=reseller).values_list("id", "created_at")
    return [pk for pk, _ in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]


def assert_chains(rows: list[tuple[int, int, int]]) -> None:
    """(id, delta, balance) newest first: each balance is the one below it plus its delta,
    and the oldest is its own delta (the ledger starts at zero)."""
    for (_, delta, balance), (_, _, below) in itertools.pairwise(rows):
        assert balance == below + delta
    assert rows[-1][2] == rows[-1][1]


def test_the_billing_page_lists_newest_first_by_time_then_id_with_balances_that_chain(
        shuffled, signed_in):
    page = signed_in(shuffled, "owner").get(reverse("dashboard:billing")).content.decode()
    ids = [int(i) for i in re.findall(r'data-testid="ledger-row" data-id="(\d+)"', page)]
    assert ids == expected_order(shuffled)
    cells = re.findall(r'data-testid="ledger-row" data-id="(\d+)"><td>[^<]*</td><td>[^<]*</td>'
                       r'<td>(-?\d+)</td><td>(-?\d+)</td>', page)
    rows = [(int(i), int(d), int(b)) for i, d, b in cells]
    assert_chains(rows)
    assert rows[0][2] == 10 + 5 - 3 - 1 - 2
    # The stored balance_after follows the ids, so it cannot read top down here:
    # the page's balances are the time-ordered ones.
    stored = dict(CreditLedgerEntry.objects.values_list("id", "balance_after"))
    assert any(stored[pk] != balance for pk, _, balance in rows)


def test_rows_of_the_same_instant_are_ordered_by_id(shuffled):
    page = credits_ledger(shuffled, actor=SYSTEM)
    at_t3 = [e.pk for e in page.object_list if e.created_at == T3]
    assert at_t3 == sorted(at_t3, reverse=True) and len(at_t3) == 2


def test_balances_chain_across_pages(shuffled):
    rows = []
    for number in (1, 2, 3):
        page = credits_ledger(shuffled, actor=SYSTEM, page=number, page_size=2)
        entries = list(page.object_list)
        balances = credits_balances_after(shuffled, actor=SYSTEM, entries=entries)
        rows += [(e.pk, e.delta, balances[e.pk]) for e in entries]
    assert [pk for pk, _, _ in rows] == expected_order(shuffled)
    assert_chains(rows)


def test_a_filtered_page_shows_the_balance_of_the_whole_ledger(shuffled):
    everything = list(credits_ledger(shuffled, actor=SYSTEM).object_list)
    full = credits_balances_after(shuffled, actor=SYSTEM, entries=everything)
    spends = list(credits_ledger(shuffled, actor=SYSTEM,
                                 filters=LedgerFilter(kind="activation")).object_list)
    assert [e.kind for e in spends] == ["activation"] * 3
    assert credits_balances_after(shuffled, actor=SYSTEM, entries=spends) == {
        e.pk: full[e.pk] for e in spends}


def test_a_movement_written_later_but_dated_earlier_shifts_only_the_balances_after_it(
        shuffled):
    entries = list(credits_ledger(shuffled, actor=SYSTEM).object_list)
    before = credits_balances_after(shuffled, actor=SYSTEM, entries=entries)
    with time_machine.travel(T2, tick=False):
        grant(shuffled, 100)  # at T2, after the T2 row already there (a later id)
    after = credits_balances_after(shuffled, actor=SYSTEM, entries=entries)
    older = [e.pk for e in entries if e.created_at <= T2]
    newer = [e.pk for e in entries if e.created_at > T2]
    assert older and newer
    assert all(after[pk] == before[pk] for pk in older)
    assert all(after[pk] == before[pk] + 100 for pk in newer)


def test_the_csv_export_has_the_same_order_and_balances_as_the_page(shuffled, signed_in):
    response = signed_in(shuffled, "owner").get(reverse("dashboard:ledger_csv"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["id"]) for r in rows] == expected_order(shuffled)
    assert_chains([(int(r["id"]), int(r["delta"]), int(r["balance_after"])) for r in rows])


def test_the_filtered_export_keeps_the_whole_ledgers_balances(shuffled):
    entries = list(credits_ledger(shuffled, actor=SYSTEM).object_list)
    full = credits_balances_after(shuffled, actor=SYSTEM, entries=entries)
    window = LedgerFilter(kind="activation", date_from=T2, date_to=T3)
    exported = [(e.pk, balance) for e, balance in
                credits_ledger_export(shuffled, actor=SYSTEM, filters=window)]
    only_c = [e.pk for e in entries if e.kind == "activation" and T2 <= e.created_at < T3]
    assert exported == [(pk, full[pk]) for pk in only_c] and len(only_c) == 1


def test_an_empty_ledger_exports_only_its_header(signed_in):
    reseller = ResellerFactory.create()
    response = signed_in(reseller, "owner").get(reverse("dashboard:ledger_csv"))
    assert b"".join(response.streaming_content).decode().strip().startswith("id,created_at")
    assert list(credits_ledger_export(reseller, actor=SYSTEM)) == []


def test_the_ledger_order_is_read_from_an_index_not_sorted(shuffled):
    query = credits_ledger(shuffled, actor=SYSTEM).paginator.object_list
    assert isinstance(query, QuerySet)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ledger_time_order_idx" in plan
    assert "Sort" not in plan.split("ledger_time_order_idx")[0]


def test_the_audit_log_lists_newest_first_by_time_then_id(signed_in):
    reseller = ResellerFactory.create()
    made = [audit_record(actor=SYSTEM, reseller_id=reseller.pk, action="reseller.update",
                         obj=reseller, now=at) for at in (T1, T3, T2, T3, T1)]
    page = signed_in(reseller, "owner").get(reverse("dashboard:audit")).content.decode()
    ids = [int(i) for i in re.findall(r'data-testid="audit-row" data-id="(\d+)"', page)]
    mine = {e.pk for e in made}
    assert [pk for pk in ids if pk in mine] == [
        e.pk for e in sorted(made, key=lambda e: (e.created_at, e.pk), reverse=True)]


def test_the_export_refuses_before_it_streams(shuffled):
    with pytest.raises(ValidationError):
        credits_ledger_export(shuffled, actor=SYSTEM, filters=LedgerFilter(kind="bogus"))
    with pytest.raises(PermissionDenied):
        credits_ledger_export(shuffled, actor=staff(shuffled, "support"))
    with pytest.raises(PermissionDenied):
        credits_balances_after(shuffled, actor=staff(shuffled, "support"), entries=[])
