"""End to end: a real Celery worker on Redis delivers the welcome email to a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from apps.notifications.models import OutboxMessage
from apps.subscriptions.services import account_create
from billing_panel.celery import app

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory
from ..mailserver import running_smtp_server
from .helpers import use_smtp

WORKER_START_TIMEOUT = 40
DELIVERY_TIMEOUT = 10


def _test_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def worker():
    app.control.purge()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billing_panel.settings.test",
           "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": settings.CELERY_BROKER_URL}
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "celery", "-A", "billing_panel", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"e2e-{os.getpid()}@localhost"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while not app.control.ping(destination=[f"e2e-{os.getpid()}@localhost"], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"The Celery worker did not start:\n{output[-3000:]}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_accounts_welcome_email_reaches_the_smtp_server_within_seconds(worker):
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    subscriber = SubscriberFactory.create(reseller=reseller, email="ana@example.net")
    grant(reseller, 1, now=NOW)
    with running_smtp_server() as (catcher, port):
        use_smtp(reseller, port)
        started = time.monotonic()
        account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan)
        assert catcher.wait_for(1, timeout=DELIVERY_TIMEOUT), "no email within the time limit"
        elapsed = time.monotonic() - started
    [received] = catcher.received
    assert received.recipients == ["ana@example.net"]
    assert password in received.text and account.username in received.text
    assert elapsed < DELIVERY_TIMEOUT
    row = OutboxMessage.objects.get(account=account, event="welcome")
    deadline = time.monotonic() + 5
    while row.status != "sent" and time.monotonic() < deadline:
        time.sleep(0.1)
        row.refresh_from_db()
    assert row.status == "sent" and row.provider_message_id == str(received.message["Message-ID"])
