"""ExternalPayment moved from the api app to payments with its rows: the table is renamed,
nothing is copied or lost, and the constraints still hold."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from apps.payments.models import ExternalPayment

from ..conftest import NOW

BEFORE = [("api", "0001_initial"), ("payments", None)]
AFTER = [("api", "0002_externalpayment_to_payments"), ("payments", "0001_initial")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def test_the_move_keeps_every_row_and_its_constraints(active_account):
    kept = ExternalPayment.objects.create(
        reseller_id=active_account.reseller_id, account=active_account, amount=999,
        currency="EUR", reference="INV-before", paid_at=NOW, created_at=NOW)

    old = _migrate(BEFORE)
    old_model = old.get_model("api", "ExternalPayment")
    assert old_model._meta.db_table == "api_externalpayment"
    assert list(old_model.objects.values_list("pk", "reference")) == [(kept.pk, "INV-before")]
    # A row written by the old code, before the upgrade.
    old_model.objects.create(reseller_id=active_account.reseller_id,
                             account_id=active_account.pk, amount=500, currency="USD",
                             reference="INV-old", paid_at=NOW, created_at=NOW)

    _migrate(AFTER)
    rows = list(ExternalPayment.objects.order_by("pk").values_list("reference", "amount",
                                                                  "currency"))
    assert rows == [("INV-before", 999, "EUR"), ("INV-old", 500, "USD")]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "payments_externalpayment" in tables and "api_externalpayment" not in tables
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalPayment.objects.create(
            reseller_id=active_account.reseller_id, account=active_account, amount=1,
            currency="EUR", reference="INV-old", paid_at=NOW, created_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        ExternalPayment.objects.create(
            reseller_id=active_account.reseller_id, account=active_account, amount=0,
            currency="EUR", reference="INV-zero", paid_at=NOW, created_at=NOW)
