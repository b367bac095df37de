"""Credit deductions and account creation under concurrency, on PostgreSQL.

    .venv/bin/python bench/credits.py [--workers 8] [--deductions 4000] [--creates 1000]

N workers deduct one credit at a time from ONE reseller (all contending for
its row lock), then N workers create 1-credit accounts. Workers are
processes, each with its own database connection, as gunicorn and Celery run
them (threads in one process would measure the GIL, not the ledger). Checks
that no update was lost (balance == credits granted - credits spent == sum of
the ledger) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _django import setup

# Filled in before the workers fork; each worker reads its copy.
STATE: dict[str, Any] = {}


def _deduct(worker: int) -> list[float]:
    from django.db import connection

    from apps.credits.services import credits_deduct

    latencies = []
    for n in range(STATE["per_worker"]):
        start = time.perf_counter()
        credits_deduct(actor=STATE["actor"], reseller=STATE["reseller"], amount=1,
                       idempotency_key=f"bench-{STATE['run']}-{worker}-{n}")
        latencies.append(time.perf_counter() - start)
    connection.close()
    return latencies


def _create(worker: int) -> int:
    from django.db import connection

    from apps.subscriptions.services import account_create

    per_worker = STATE["creates_per_worker"]
    for n in range(per_worker):
        account_create(actor=STATE["actor"], plan=STATE["plan"],
                       subscriber=STATE["subscribers"][worker * per_worker + n])
    connection.close()
    return per_worker


def _pool(workers: int) -> ProcessPoolExecutor:
    from django.db import connection

    connection.close()  # never share a connection across a fork
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--deductions", type=int, default=4000)
    parser.add_argument("--creates", type=int, default=1000)
    args = parser.parse_args()
    setup()

    from django.db.models import Sum

    from apps.accounts.services import reseller_create
    from apps.core.actors import Actor
    from apps.credits.models import CreditLedgerEntry
    from apps.credits.services import credits_grant
    from apps.subscriptions.models import Subscriber
    from apps.subscriptions.services import plan_create

    actor = Actor.system("bench")
    run = uuid.uuid4().hex[:8]
    reseller = reseller_create(actor=actor, name=f"Bench {run}", slug=f"bench-{run}",
                               contact_email="bench@example.com")
    granted = args.deductions + args.creates
    credits_grant(actor=actor, reseller=reseller, amount=granted, reference="bench",
                  idempotency_key=f"bench-grant-{run}")
    plan = plan_create(actor=actor, reseller=reseller, name="Monthly")
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(reseller=reseller, name=f"Bench {i}") for i in range(args.creates)
    )
    STATE.update(actor=actor, reseller=reseller, run=run, plan=plan, subscribers=subscribers,
                 per_worker=args.deductions // args.workers,
                 creates_per_worker=args.creates // args.workers)

    started = time.perf_counter()
    with _pool(args.workers) as pool:
        latencies = sorted(x for chunk in pool.map(_deduct, range(args.workers)) for x in chunk)
    deduct_s = time.perf_counter() - started

    started = time.perf_counter()
    with _pool(args.workers) as pool:
        created = sum(pool.map(_create, range(args.workers)))
    create_s = time.perf_counter() - started

    deducted = len(latencies)
    reseller.refresh_from_db()
    ledger_sum = CreditLedgerEntry.objects.filter(reseller=reseller).aggregate(s=Sum("delta"))["s"]
    expected = granted - deducted - created
    if not reseller.credit_balance == ledger_sum == expected:
        raise SystemExit(f"lost update: balance {reseller.credit_balance}, ledger {ledger_sum}, "
                         f"expected {expected}")
    print(json.dumps({
        "workers": args.workers,
        "deductions": deducted,
        "deductions_per_s": round(deducted / deduct_s, 1),
        "deduction_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "deduction_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "creates": created,
        "creates_per_s": round(created / create_s, 1),
        "lost_updates": 0,
    }))


if __name__ == "__main__":
    main()
