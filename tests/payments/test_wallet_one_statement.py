"""The wallet movement's one statement (the credit ledger's, apps.core.ledger) writes what the
ORM's writes do."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.payments.models import Wallet, WalletEntry
from apps.payments.wallets import WALLET_LEDGER
from apps.subscriptions.models import Subscriber

from ..conftest import NOW, SYSTEM
from ..factories import SubscriberFactory

pytestmark = pytest.mark.django_db

SKIP = {"id", "reseller_id", "wallet_id", "subscriber_id", "object_id"}


def _move(wallet: Wallet, kind: str, delta: int, key: str, *, by_orm: bool) -> int | None:
    entry = WalletEntry(
        reseller_id=wallet.reseller_id, wallet=wallet, subscriber_id=wallet.subscriber_id,
        livemode=wallet.livemode, currency=wallet.currency, kind=kind, delta=delta,
        idempotency_key=key, reference="PAY-1", reason="correction", **SYSTEM.row_fields(),
        created_at=NOW,
    )
    audit = AuditEntry(created_at=NOW, reseller_id=wallet.reseller_id, **SYSTEM.row_fields(),
                       action=f"wallet.{kind}", object_type=WalletEntry._meta.label_lower,
                       ip="192.0.2.7")
    write = (WALLET_LEDGER.insert_moving_balance_by_orm if by_orm
             else WALLET_LEDGER.insert_moving_balance_in_one_statement)
    with transaction.atomic():
        return write(entry, audit, "balance")


def _wallet(subscriber: Subscriber) -> Wallet:
    return Wallet.objects.create(reseller_id=subscriber.reseller_id, subscriber=subscriber,
                                 livemode=subscriber.livemode, currency="EUR", created_at=NOW)


def _rows(wallet: Wallet) -> list[dict[str, object]]:
    made = []
    for model in (WalletEntry, AuditEntry):
        for row in model.objects.filter(reseller_id=wallet.reseller_id).order_by("id").values():
            made.append({k: v for k, v in row.items() if k not in SKIP})
    return made


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_the_statement_and_the_orm_write_the_same_rows_and_refuse_the_same_moves():
    by_statement = _wallet(SubscriberFactory.create())
    by_orm = _wallet(SubscriberFactory.create())
    for wallet, orm in ((by_statement, False), (by_orm, True)):
        assert _move(wallet, "top_up", 500, "k-1", by_orm=orm) == 500
        assert _move(wallet, "renewal_charge", -200, "k-2", by_orm=orm) == 300
        # A used key and a balance that would go below zero write nothing.
        assert _move(wallet, "top_up", 1, "k-1", by_orm=orm) is None
        assert _move(wallet, "renewal_charge", -400, "k-3", by_orm=orm) is None
    assert _rows(by_statement) == _rows(by_orm)
    assert len(_rows(by_orm)) == 4
    for wallet in (by_statement, by_orm):
        wallet.refresh_from_db()
        assert wallet.balance == 300
        # The audit row points at its entry in both.
        ids = {str(pk) for pk in WalletEntry.objects.filter(wallet=wallet)
               .values_list("pk", flat=True)}
        assert set(AuditEntry.objects.filter(reseller_id=wallet.reseller_id)
                   .values_list("object_id", flat=True)) == ids


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement is PostgreSQL's")
def test_one_wallets_key_does_not_block_another_resellers_and_one_move_is_one_round_trip():
    first, second = _wallet(SubscriberFactory.create()), _wallet(SubscriberFactory.create())
    assert _move(first, "top_up", 5, "same", by_orm=False) == 5
    assert _move(second, "top_up", 7, "same", by_orm=False) == 7
    with CaptureQueriesContext(connection) as queries:
        WALLET_LEDGER.insert_moving_balance_in_one_statement(
            WalletEntry(reseller_id=first.reseller_id, wallet=first,
                        subscriber_id=first.subscriber_id, livemode=True, currency="EUR",
                        kind="top_up", delta=1, idempotency_key="one", **SYSTEM.row_fields(),
                        created_at=NOW),
            AuditEntry(created_at=NOW, reseller_id=first.reseller_id, **SYSTEM.row_fields(),
                       action="wallet.top_up", object_type="payments.walletentry"),
            "balance")
    assert len(queries) == 1
