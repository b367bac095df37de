"""Credit deductions and account creation under concurrency, on PostgreSQL.

    .venv/bin/python bench/credits.py [--threads 8] [--deductions 4000] [--creates 1000]

N threads deduct one credit at a time from ONE reseller (all contending for
its row lock), then N threads create 1-credit accounts. Checks that no
update was lost (balance == credits granted - credits spent == sum of the
ledger) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from _django import setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--deductions", type=int, default=4000)
    parser.add_argument("--creates", type=int, default=1000)
    args = parser.parse_args()
    setup()

    from django.db import connection
    from django.db.models import Sum

    from apps.accounts.services import reseller_create
    from apps.core.actors import Actor
    from apps.credits.models import CreditLedgerEntry
    from apps.credits.services import credits_deduct, credits_grant
    from apps.subscriptions.models import Subscriber
    from apps.subscriptions.services import account_create, plan_create

    system = Actor.system("bench")
    run = uuid.uuid4().hex[:8]
    reseller = reseller_create(actor=system, name=f"Bench {run}", slug=f"bench-{run}",
                               contact_email="bench@example.com")
    granted = args.deductions + args.creates
    credits_grant(actor=system, reseller=reseller, amount=granted, reference="bench",
                  idempotency_key=f"bench-grant-{run}")

    per_thread = args.deductions // args.threads
    latencies: list[float] = []
    lock = threading.Lock()

    def deduct(worker: int) -> None:
        mine = []
        try:
            for n in range(per_thread):
                start = time.perf_counter()
                credits_deduct(actor=system, reseller=reseller, amount=1,
                               idempotency_key=f"bench-{worker}-{n}")
                mine.append(time.perf_counter() - start)
        finally:
            connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(deduct, range(args.threads)))
    deduct_s = time.perf_counter() - started
    deducted = per_thread * args.threads

    plan = plan_create(actor=system, reseller=reseller, name="Monthly")
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(reseller=reseller, name=f"Bench {i}") for i in range(args.creates)
    )
    per_thread_creates = args.creates // args.threads

    def create(worker: int) -> None:
        try:
            for n in range(per_thread_creates):
                account_create(actor=system, subscriber=subscribers[worker * per_thread_creates
                                                                    + n], plan=plan)
        finally:
            connection.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(create, range(args.threads)))
    create_s = time.perf_counter() - started
    created = per_thread_creates * args.threads

    reseller.refresh_from_db()
    ledger_sum = CreditLedgerEntry.objects.filter(reseller=reseller).aggregate(s=Sum("delta"))["s"]
    expected = granted - deducted - created
    if not reseller.credit_balance == ledger_sum == expected:
        raise SystemExit(f"lost update: balance {reseller.credit_balance}, ledger {ledger_sum}, "
                         f"expected {expected}")
    latencies.sort()
    print(json.dumps({
        "threads": args.threads,
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
