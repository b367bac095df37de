"""The credit ledger's invariants on SQLite, where each movement is several statements."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Reseller
from apps.core.errors import DomainError
from apps.credits.models import CreditLedgerEntry
from apps.credits.services import credits_adjust, credits_deduct, credits_grant, credits_refund
from apps.subscriptions.services import account_change_plan, account_create, account_renew
from tests.conftest import SYSTEM
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
_resellers = itertools.count()


def assert_ledger_invariants(reseller: Reseller) -> None:
    """For each mode apart: balance == sum of deltas, and every balance_after chains."""
    reseller.refresh_from_db()
    for livemode in (True, False):
        entries = list(CreditLedgerEntry.objects.filter(reseller=reseller, livemode=livemode)
                       .order_by("id"))
        running = 0
        for entry in entries:
            running += entry.delta
            assert entry.balance_after == running >= 0, entry
        assert reseller.balance(livemode=livemode) == running
    keys = list(CreditLedgerEntry.objects.filter(reseller=reseller)
                .values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))


def move(reseller: Reseller, kind: str, amount: int, key: str, livemode: bool) -> None:
    common: dict[str, Any] = {"actor": SYSTEM, "reseller": reseller, "idempotency_key": key,
              "livemode": livemode}
    if kind == "grant":
        credits_grant(amount=amount, reference="R", **common)
    elif kind == "deduct":
        credits_deduct(amount=amount, **common)
    elif kind == "refund":
        credits_refund(amount=amount, reason="r", **common)
    else:
        credits_adjust(delta=amount, reason="a", **common)


movement = st.tuples(
    st.sampled_from(["grant", "deduct", "refund", "adjust"]),
    st.integers(min_value=-20, max_value=20),
    st.integers(min_value=0, max_value=8),  # few keys, so that they repeat
    st.booleans(),
)


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(movements=st.lists(movement, min_size=1, max_size=20))
def test_generated_movements_keep_both_modes_ledgers_chained(movements) -> None:
    reseller = ResellerFactory.create(slug=f"sqlite-prop-{next(_resellers)}")
    for kind, amount, key_number, livemode in movements:
        before = CreditLedgerEntry.objects.filter(reseller=reseller).count()
        try:
            move(reseller, kind, amount, f"key-{key_number}", livemode)
        except DomainError:
            # Refused (a bad amount, a short balance, a key reused for another movement).
            assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == before
    assert_ledger_invariants(reseller)


def test_the_account_lifecycle_keeps_the_ledger_chained(reseller):
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    premium = PlanFactory.create(reseller=reseller, name="Premium", credit_cost=3)
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="INV-1",
                  idempotency_key="g-1")
    credits_grant(actor=SYSTEM, reseller=reseller, amount=4, reference="INV-T",
                  idempotency_key="g-t", livemode=False)
    live = SubscriberFactory.create(reseller=reseller)
    test = SubscriberFactory.create(reseller=reseller, livemode=False)
    account, _ = account_create(actor=SYSTEM, subscriber=live, plan=plan)
    account_create(actor=SYSTEM, subscriber=test, plan=plan)
    account_renew(actor=SYSTEM, account=account, months=2)
    account_change_plan(actor=SYSTEM, account=account, plan=premium)
    assert account_renew(actor=SYSTEM, account=account).queued  # 3 credits, 1 left
    credits_grant(actor=SYSTEM, reseller=reseller, amount=2, reference="INV-2",
                  idempotency_key="g-2")
    credits_refund(actor=SYSTEM, reseller=reseller, amount=1, idempotency_key="r-1",
                   reason="goodwill")
    assert_ledger_invariants(reseller)
    reseller.refresh_from_db()
    # 10 + 2 + 1 in; 1 activation, 2 renewal, 6 upgrade (2 x 3 months left), 3 renewal out.
    assert (reseller.credit_balance, reseller.test_credit_balance) == (1, 3)
    assert CreditLedgerEntry.objects.filter(account=account).count() == 4


def test_ledger_rows_cannot_change_and_the_balance_cannot_go_negative(reseller):
    entry = credits_grant(actor=SYSTEM, reseller=reseller, amount=2, reference="INV",
                          idempotency_key="g")
    table = CreditLedgerEntry._meta.db_table
    for statement in (f'UPDATE "{table}" SET "delta" = 5 WHERE "id" = %s',  # noqa: S608
                      f'DELETE FROM "{table}" WHERE "id" = %s'):  # noqa: S608
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    with pytest.raises(IntegrityError), transaction.atomic():
        Reseller.objects.filter(pk=reseller.pk).update(credit_balance=-1)
    assert_ledger_invariants(reseller)
