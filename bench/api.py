"""API benchmark: gunicorn on PostgreSQL, driven by concurrent keep-alive clients.

    .venv/bin/python bench/api.py [--accounts 1000000] [--seconds 10]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
bp_bench_api), fills it with set-based SQL (INSERT ... SELECT generate_series), starts
gunicorn, and prints one JSON object:
{"create_rps", "create_p99_ms", "list_rps", "list_p99_ms", "accounts"}.
create_p99_ms is measured at a paced 100 requests/s (open loop, latency counted from the
scheduled send time); the *_rps figures are closed-loop maxima.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "billing_panel.settings.base",
        "DATABASE_URL": database_url + "?CONN_MAX_AGE=600",
        "SECRET_KEY": env.get("SECRET_KEY", "bench-only-secret"),
        "FIELD_ENCRYPTION_KEYS": env.get("FIELD_ENCRYPTION_KEYS",
                                         "mGl2EMx4aVXszbwGy7h6mmGEJ3uEqxG5dnzQYQ1E1Ts="),
        "CACHE_URL": env.get("CACHE_URL", "rediscache://127.0.0.1:6379/6"),
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5"),
        "API_RATE_LIMIT": "1000000/s",
        "LOG_LEVEL": "WARNING",
        "DEBUG": "0",
    })
    return env


def ensure_database(database_url: str) -> None:
    name = database_url.rsplit("/", 1)[1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(env: dict[str, str], accounts: int) -> dict[str, Any]:
    """Migrate, make a reseller, a plan and a key, and fill `accounts` accounts in SQL."""
    subprocess.run([str(PYTHON), "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,  # noqa: S603
                   env=env, check=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from apps.accounts.models import Reseller
    from apps.api.services import api_key_create
    from apps.core import crypto
    from apps.core.actors import Actor
    from apps.credits.services import credits_grant
    from apps.subscriptions.models import Plan, ServiceAccount

    system = Actor.system("bench")
    reseller, _ = Reseller.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "contact_email": "bench@example.com"})
    plan, _ = Plan.objects.get_or_create(reseller=reseller, name="Monthly",
                                         defaults={"credit_cost": 1})
    _, raw = api_key_create(actor=system, reseller=reseller, name=f"bench {uuid.uuid4().hex[:6]}",
                            mode="live", scopes=["accounts:read", "accounts:write"])
    credits_grant(actor=system, reseller=reseller, amount=10_000_000, reference="bench",
                  idempotency_key=f"bench-{uuid.uuid4().hex}")
    have = ServiceAccount.objects.filter(reseller=reseller, livemode=True).count()
    missing = accounts - have
    if missing > 0:
        log(f"filling {missing} accounts with set-based SQL ...")
        started = time.monotonic()
        secret = crypto.encrypt("bench-password")
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH subs AS (
                    INSERT INTO subscriptions_subscriber
                        (reseller_id, name, email, phone, country, marketing_consent,
                         marketing_consent_source, external_id, livemode, created_at, updated_at)
                    SELECT %(r)s, 'Bench ' || g, 'fill' || g || '-' || %(run)s || '@example.net',
                           '', '', false, '', NULL, true, now(), now()
                    FROM generate_series(1, %(n)s) AS g
                    RETURNING id
                )
                INSERT INTO subscriptions_serviceaccount
                    (reseller_id, subscriber_id, plan_id, username, password_encrypted, status,
                     pending_reason, starts_at, expires_at, status_changed_at, auto_renew,
                     renewal_period_months, renewal_source, livemode, created_at, updated_at)
                SELECT %(r)s, subs.id, %(p)s, 'fill' || subs.id, %(secret)s, 'active', '',
                       now(), now() + interval '30 days' + (subs.id %% 43200) * interval '1 minute',
                       now(), true, 1, 'external', true, now(), now()
                FROM subs
                """,
                {"r": reseller.pk, "p": plan.pk, "n": missing, "secret": secret,
                 "run": uuid.uuid4().hex[:6]},
            )
            cursor.execute("ANALYZE subscriptions_subscriber")
            cursor.execute("ANALYZE subscriptions_serviceaccount")
        log(f"filled in {time.monotonic() - started:.0f} s")
    total = ServiceAccount.objects.filter(reseller=reseller, livemode=True).count()
    connection.close()
    return {"key": raw, "plan": plan.pk, "accounts": total}


# ---------------------------------------------------------------- a small keep-alive client


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        for attempt in range(2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                head = await self.reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt:
                    raise
                continue
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {k.lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:] if line)}
            await self.reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("connection", "").lower() == "close":
                self.writer.close()
                self.writer = None
            return status
        raise RuntimeError("unreachable")


def http(method: str, path: str, key: str, body: dict[str, Any] | None = None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: keep-alive\r\n\r\n")
    return head.encode() + payload


def create_request(key: str, plan: int) -> bytes:
    ident = uuid.uuid4().hex
    return http("POST", "/api/v1/accounts", key, {
        "subscriber": {"external_id": ident, "email": f"{ident}@example.net", "name": "Bench"},
        "plan": plan, "months": 1})


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)


async def closed_loop(port: int, make: Any, *, concurrency: int, seconds: float,
                      expect: int) -> tuple[float, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        conn = Connection(port)
        while time.monotonic() < deadline:
            started = time.monotonic()
            status = await conn.request(make())
            latencies.append(time.monotonic() - started)
            if status != expect:
                errors += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    if errors:
        log(f"{errors} unexpected statuses")
    return round(len(latencies) / elapsed, 1), p99(latencies)


async def paced(port: int, make: Any, *, rate: float, seconds: float, expect: int) -> float:
    """Open loop at `rate` requests/s; latency from each request's scheduled time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(Connection(port))
    latencies: list[float] = []
    start = time.monotonic() + 0.2

    async def one(at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        conn = await pool.get()
        try:
            status = await conn.request(make())
        finally:
            pool.put_nowait(conn)
        latencies.append(time.monotonic() - at)
        if status != expect:
            log(f"unexpected status {status}")

    await asyncio.gather(*(one(start + i / rate) for i in range(int(rate * seconds))))
    return p99(latencies)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    # One worker process per core: on a small machine that also runs PostgreSQL and the
    # clients, more processes only add switching (2 cores: 4 workers gave 255 list/s, 2 gave 352).
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL",
                                  "postgres://postgres@127.0.0.1:5432/bp_bench_api")
    ensure_database(database_url)
    env = bench_env(database_url)
    seeded = prepare(env, args.accounts)
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [str(GUNICORN), "billing_panel.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
         "--keep-alive", "30", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        key, plan = seeded["key"], seeded["plan"]
        list_path = "/api/v1/accounts?limit=50"

        def make_create() -> bytes:
            return create_request(key, plan)

        def make_list() -> bytes:
            return http("GET", list_path, key)

        async def run() -> dict[str, Any]:
            await closed_loop(port, make_list, concurrency=8, seconds=2, expect=200)  # warm up
            await closed_loop(port, make_create, concurrency=8, seconds=2, expect=201)
            create_rps, _ = await closed_loop(port, make_create, concurrency=args.concurrency,
                                              seconds=args.seconds, expect=201)
            create_p99 = await paced(port, make_create, rate=100, seconds=args.seconds,
                                     expect=201)
            list_rps, list_p99 = await closed_loop(port, make_list,
                                                   concurrency=args.concurrency,
                                                   seconds=args.seconds, expect=200)
            return {"create_rps": create_rps, "create_p99_ms": create_p99,
                    "list_rps": list_rps, "list_p99_ms": list_p99}

        result = asyncio.run(run())
    finally:
        server.terminate()
        server.wait(timeout=30)
    import psycopg

    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM subscriptions_serviceaccount").fetchone()
    result["accounts"] = int(row[0]) if row else 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
