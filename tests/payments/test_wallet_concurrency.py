"""Many threads moving one wallet at once, on PostgreSQL: no lost update, no overdraft, and a
key shared by several writers has one effect."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, transaction

from apps.core.errors import DomainError
from apps.payments.models import Wallet, WalletEntry
from apps.payments.wallets import InsufficientWalletBalance, wallet_credit, wallet_debit

from ..conftest import SYSTEM
from ..factories import SubscriberFactory
from .test_wallet_ledger import assert_invariants

THREADS = 8
ROUNDS = 15

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
]


def _run(work, *args) -> list[Any]:
    barrier = threading.Barrier(THREADS)

    def worker(index: int) -> object:
        try:
            barrier.wait(timeout=30)
            return work(index, *args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(worker, range(THREADS)))


def _credit_and_debit(index: int, subscriber, in_transaction: bool) -> list[str]:
    outcomes = []
    for n in range(ROUNDS):
        # Every other round the threads share a key: one top-up of 300 for all of them.
        shared = n % 2 == 0
        try:
            if in_transaction:
                with transaction.atomic():
                    outcomes.append(_one(index, n, shared, subscriber))
            else:
                outcomes.append(_one(index, n, shared, subscriber))
        except InsufficientWalletBalance:
            outcomes.append("short")
    return outcomes


def _one(index: int, n: int, shared: bool, subscriber) -> str:
    if shared:
        _, created = wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR",
                                   amount=300, kind="top_up", idempotency_key=f"shared-{n}")
        return "credited" if created else "replayed"
    _, created = wallet_debit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=250,
                              idempotency_key=f"debit-{index}-{n}")
    return "debited"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "in_a_transaction"])
def test_eight_threads_crediting_and_debiting_one_wallet(in_transaction) -> None:
    subscriber = SubscriberFactory.create()
    outcomes = [o for chunk in _run(_credit_and_debit, subscriber, in_transaction) for o in chunk]

    shared_rounds = len(range(0, ROUNDS, 2))
    assert outcomes.count("credited") == shared_rounds
    assert outcomes.count("replayed") == shared_rounds * (THREADS - 1)
    wallet = Wallet.objects.get(subscriber=subscriber)
    debits = WalletEntry.objects.filter(wallet=wallet, kind="renewal_charge").count()
    assert debits == outcomes.count("debited")
    assert wallet.balance == shared_rounds * 300 - debits * 250 >= 0
    assert_invariants(subscriber)


def _first_top_up(index: int, subscriber) -> str:
    try:
        _, created = wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="CHF",
                                   amount=100 + index, kind="top_up",
                                   idempotency_key=f"first-{index}")
    except DomainError as error:
        return error.code
    return "created" if created else "replayed"


@pytest.mark.django_db(transaction=True)
def test_first_top_ups_at_once_make_one_wallet() -> None:
    subscriber = SubscriberFactory.create()
    assert _run(_first_top_up, subscriber) == ["created"] * THREADS
    wallet = Wallet.objects.get(subscriber=subscriber)
    assert wallet.balance == sum(100 + i for i in range(THREADS))
    assert_invariants(subscriber)


def _drain(index: int, subscriber) -> int:
    spent = 0
    for n in range(ROUNDS):
        try:
            wallet_debit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=7,
                         idempotency_key=f"drain-{index}-{n}")
            spent += 7
        except InsufficientWalletBalance:
            pass
    return spent


@pytest.mark.django_db(transaction=True)
def test_threads_draining_a_wallet_never_take_it_below_zero() -> None:
    subscriber = SubscriberFactory.create()
    wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=500,
                  kind="top_up", idempotency_key="seed")
    spent = sum(_run(_drain, subscriber))
    wallet = Wallet.objects.get(subscriber=subscriber)
    # 71 debits of 7 fit in 500; the other attempts were refused.
    assert spent == 497 and wallet.balance == 3
    assert_invariants(subscriber)
