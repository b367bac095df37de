"""The credit movement's one hand-written statement writes what the ORM's writes do."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.accounts.models import Reseller
from apps.audit.models import AuditEntry
from apps.credits import services
from apps.credits.models import CreditLedgerEntry

from ..conftest import NOW, SYSTEM
from ..factories import ResellerFactory

pytestmark = pytest.mark.django_db

SKIP = {"id", "reseller_id", "object_id"}


def _move(reseller: Reseller, delta: int, key: str, *, by_orm: bool) -> int | None:
    entry = CreditLedgerEntry(
        reseller_id=reseller.pk, livemode=True, kind="adjustment", delta=delta,
        idempotency_key=key, reference="INV-1", reason="correction", **SYSTEM.row_fields(),
        created_at=NOW,
    )
    audit = AuditEntry(created_at=NOW, reseller_id=reseller.pk, **SYSTEM.row_fields(),
                       action="credits.adjustment",
                       object_type=CreditLedgerEntry._meta.label_lower, ip="192.0.2.7")
    write = (services._insert_moving_balance_by_orm if by_orm
             else services._insert_moving_balance_in_one_statement)
    with transaction.atomic():
        return write(entry, audit, "credit_balance")


def _rows(reseller: Reseller) -> list[dict[str, object]]:
    made = []
    for model in (CreditLedgerEntry, AuditEntry):
        for row in model.objects.filter(reseller_id=reseller.pk).order_by("id").values():
            made.append({k: v for k, v in row.items() if k not in SKIP})
    return made


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_the_statement_and_the_orm_write_the_same_rows_and_refuse_the_same_moves():
    by_statement, by_orm = ResellerFactory.create(), ResellerFactory.create()
    for reseller, orm in ((by_statement, False), (by_orm, True)):
        assert _move(reseller, 5, "k-1", by_orm=orm) == 5
        assert _move(reseller, -2, "k-2", by_orm=orm) == 3
        # A used key and a balance that would go below zero write nothing.
        assert _move(reseller, 1, "k-1", by_orm=orm) is None
        assert _move(reseller, -4, "k-3", by_orm=orm) is None
    assert _rows(by_statement) == _rows(by_orm)
    assert len(_rows(by_orm)) == 4
    for reseller in (by_statement, by_orm):
        reseller.refresh_from_db()
        assert reseller.credit_balance == 3
    # The audit row points at its ledger row in both.
    for reseller in (by_statement, by_orm):
        ids = {str(pk) for pk in CreditLedgerEntry.objects.filter(
            reseller_id=reseller.pk).values_list("pk", flat=True)}
        assert set(AuditEntry.objects.filter(reseller_id=reseller.pk)
                   .values_list("object_id", flat=True)) == ids
