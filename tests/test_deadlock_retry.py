"""retrying_deadlocks: a transaction PostgreSQL rolls back to break a deadlock runs again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection, transaction

from apps.accounts.models import Reseller
from apps.core.db import retrying_deadlocks
from tests.factories import ResellerFactory


def _cross_lock(first: int, second: int, barrier: threading.Barrier, attempts: list[int]):
    """Lock one reseller row, wait for the other thread to lock its own, then lock that one."""

    def work() -> None:
        with transaction.atomic():
            attempts.append(first)
            Reseller.objects.select_for_update().get(pk=first)
            if len(attempts) <= 2:
                barrier.wait(timeout=10)
            Reseller.objects.filter(pk=second).update(name=f"after {first}")

    return work


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("retry", [False, True])
def test_a_transaction_rolled_back_by_a_deadlock_runs_again(retry: bool) -> None:
    a, b = ResellerFactory.create(), ResellerFactory.create()
    barrier = threading.Barrier(2)
    attempts: list[int] = []

    def run(pair: tuple[int, int]) -> str:
        work = _cross_lock(*pair, barrier, attempts)
        try:
            (retrying_deadlocks if retry else lambda w: w())(work)
            return "done"
        except OperationalError as error:
            return getattr(error.__cause__, "sqlstate", "")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(run, [(a.pk, b.pk), (b.pk, a.pk)]))

    if retry:
        # Both finished: the one PostgreSQL chose as the victim ran a second time.
        assert outcomes == ["done", "done"]
        assert len(attempts) == 3
        assert {r.name for r in Reseller.objects.filter(pk__in=[a.pk, b.pk])} == {
            f"after {a.pk}", f"after {b.pk}"}
    else:
        assert outcomes == ["40P01", "done"]


def test_inside_a_callers_transaction_it_runs_once_and_lets_the_caller_decide(db) -> None:
    calls: list[int] = []

    def work() -> int:
        calls.append(1)
        raise OperationalError("boom")

    with pytest.raises(OperationalError), transaction.atomic():
        retrying_deadlocks(work)
    assert calls == [1]
