"""Generated sequences of wallet movements, keys repeating, keep the ledger's invariants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.errors import DomainError
from apps.payments.models import Wallet, WalletEntry
from apps.payments.wallets import wallet_adjust, wallet_credit, wallet_debit, wallet_reverse

from ..conftest import SYSTEM
from ..factories import SubscriberFactory
from .test_wallet_ledger import assert_invariants

operation = st.tuples(
    st.sampled_from(["top_up", "refund", "debit", "adjust", "reverse"]),
    st.integers(min_value=-3000, max_value=3000),
    st.sampled_from(["EUR", "JPY"]),
    # A small key space, so that keys repeat often.
    st.integers(min_value=0, max_value=10),
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=20))
def test_random_sequences_keep_balances_chains_and_idempotency(operations) -> None:
    subscriber = SubscriberFactory.create()
    first_effect: dict[str, tuple[str, int, str]] = {}
    expected: dict[str, int] = {}
    for kind, amount, currency, key_number in operations:
        key = f"key-{key_number}"
        entries_before = WalletEntry.objects.filter(subscriber=subscriber).count()
        try:
            if kind in ("top_up", "refund"):
                entry, _ = wallet_credit(actor=SYSTEM, subscriber=subscriber, currency=currency,
                                         amount=amount, kind=kind, idempotency_key=key)
            elif kind == "debit":
                entry, _ = wallet_debit(actor=SYSTEM, subscriber=subscriber, currency=currency,
                                        amount=amount, idempotency_key=key)
            elif kind == "adjust":
                entry = wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency=currency,
                                      delta=amount, reason="generated", idempotency_key=key)
            else:
                target = (WalletEntry.objects.filter(subscriber=subscriber)
                          .exclude(kind="reversal").order_by("id")[abs(amount) % 5:].first())
                if target is None:
                    continue
                entry = wallet_reverse(actor=SYSTEM, entry=target, reason="generated",
                                       idempotency_key=key)
        except DomainError:
            # Refused (a bad amount, a short balance, a reused key, reversed already):
            # nothing written.
            assert WalletEntry.objects.filter(subscriber=subscriber).count() == entries_before
            assert_invariants(subscriber)
            continue
        if key in first_effect:
            # A repeated key: the first row comes back, no second effect.
            assert WalletEntry.objects.filter(subscriber=subscriber).count() == entries_before
            assert (entry.kind, entry.delta, entry.currency) == first_effect[key]
        else:
            assert WalletEntry.objects.filter(subscriber=subscriber).count() == entries_before + 1
            first_effect[key] = (entry.kind, entry.delta, entry.currency)
            expected[entry.currency] = expected.get(entry.currency, 0) + entry.delta
        assert_invariants(subscriber)

    balances = dict(Wallet.objects.filter(subscriber=subscriber).values_list("currency",
                                                                              "balance"))
    assert balances == {currency: total for currency, total in expected.items()}
    keys = list(WalletEntry.objects.filter(subscriber=subscriber)
                .values_list("idempotency_key", flat=True))
    assert len(set(keys)) == len(keys)
