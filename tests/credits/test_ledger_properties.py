"""Generated sequences of credit movements keep the ledger's invariants."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import DomainError, InsufficientCredits
from apps.credits.models import CreditLedgerEntry
from apps.credits.services import credits_adjust, credits_deduct, credits_grant, credits_refund

from ..conftest import SYSTEM
from ..factories import ResellerFactory

operation = st.tuples(
    st.sampled_from(["grant", "deduct", "refund", "adjust"]),
    st.integers(min_value=-30, max_value=30),
    # A small key space, so that keys repeat often.
    st.integers(min_value=0, max_value=12),
)
_resellers = itertools.count()


@pytest.mark.django_db
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_random_sequences_keep_balance_chain_and_idempotency(operations) -> None:
    reseller = ResellerFactory.create(slug=f"prop-{next(_resellers)}")
    first_effect: dict[str, tuple[str, int]] = {}
    expected_balance = 0
    for kind, amount, key_number in operations:
        key = f"key-{key_number}"
        entries_before = CreditLedgerEntry.objects.filter(reseller=reseller).count()
        try:
            if kind == "grant":
                entry = credits_grant(actor=SYSTEM, reseller=reseller, amount=amount,
                                      reference="R", idempotency_key=key)
            elif kind == "deduct":
                entry = credits_deduct(actor=SYSTEM, reseller=reseller, amount=amount,
                                       idempotency_key=key)
            elif kind == "refund":
                entry = credits_refund(actor=SYSTEM, reseller=reseller, amount=amount,
                                       idempotency_key=key, reason="r")
            else:
                entry = credits_adjust(actor=SYSTEM, reseller=reseller, delta=amount,
                                       reason="a", idempotency_key=key)
        except (DomainError, InsufficientCredits):
            # Refused: nothing written.
            assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == entries_before
            continue
        if key in first_effect:
            # A repeated key: the first row comes back, no second effect.
            assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == entries_before
            assert (entry.kind, entry.delta) == first_effect[key]
        else:
            first_effect[key] = (entry.kind, entry.delta)
            expected_balance += entry.delta

    reseller.refresh_from_db()
    entries = list(CreditLedgerEntry.objects.filter(reseller=reseller).order_by("id"))
    assert reseller.credit_balance == expected_balance == sum(e.delta for e in entries)
    running = 0
    for entry in entries:
        running += entry.delta
        assert entry.balance_after == running
        assert entry.balance_after >= 0
    assert len({e.idempotency_key for e in entries}) == len(entries)
