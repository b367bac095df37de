"""Running the sweep twice, twice at once, or after a crash ends exactly as one clean run."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import connection, connections

from apps.subscriptions.sweep import ADVISORY_LOCK_KEY, sweep

from ..conftest import NOW
from . import sweep_scenario


def _clean_reference() -> dict:
    reference = sweep_scenario.build()
    report = sweep(now=NOW, reseller_slug=reference.slug)
    assert report.errors == 0
    return sweep_scenario.fingerprint(reference)


def test_one_sweep_does_each_step(db):
    reseller = sweep_scenario.build()
    report = sweep(now=NOW, reseller_slug=reseller.slug)
    assert (report.renewed, report.expired, report.suspended, report.terminated,
            report.reminders, report.credit_floor_alerts, report.errors) == (1, 1, 1, 1, 1, 1, 0)
    accounts = sweep_scenario.fingerprint(reseller)["accounts"]
    assert accounts["expiring0"][0] == "grace"
    assert accounts["grace0"][0] == "suspended"
    assert accounts["suspended0"][0] == "terminated"
    assert accounts["renewing0"][0] == "active"
    assert accounts["reminded0"][3] == [3]
    assert accounts["quiet0"][2] == ["activate", "create"]


def test_the_sweep_twice_at_the_same_now_is_one_run(db):
    reference = _clean_reference()
    reseller = sweep_scenario.build()
    sweep(now=NOW, reseller_slug=reseller.slug)
    second = sweep(now=NOW, reseller_slug=reseller.slug)
    assert second.items == 0
    assert sweep_scenario.fingerprint(reseller) == reference


def test_a_sweep_that_fails_after_k_items_and_runs_again_ends_as_one_clean_run(db):
    reference = _clean_reference()
    reseller = sweep_scenario.build(copies=1)
    # The database refuses every sweep event after the second: the run dies item by item.
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE FUNCTION fail_after_k() RETURNS trigger AS $$
            BEGIN
                IF NEW.actor_label = 'renewal-sweep' AND NEW.reseller_id = {reseller.pk} AND
                   (SELECT count(*) FROM subscriptions_accountevent
                    WHERE actor_label = 'renewal-sweep' AND reseller_id = {reseller.pk}) >= 2
                THEN RAISE EXCEPTION 'disk full (injected)'; END IF;
                RETURN NEW;
            END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER fail_after_k BEFORE INSERT ON subscriptions_accountevent
                FOR EACH ROW EXECUTE FUNCTION fail_after_k();
        """)  # noqa: S608 (an integer id from the test's own row)
    crashed = sweep(now=NOW, reseller_slug=reseller.slug)
    assert crashed.errors >= 1
    assert "disk full" in crashed.error_messages[0]
    assert sweep_scenario.fingerprint(reseller) != reference
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER fail_after_k ON subscriptions_accountevent")
    again = sweep(now=NOW, reseller_slug=reseller.slug)
    assert again.errors == 0
    assert sweep_scenario.fingerprint(reseller) == reference


def test_a_sweep_while_another_holds_the_lock_does_nothing(db):
    reseller = sweep_scenario.build()
    before = sweep_scenario.fingerprint(reseller)
    params = connection.get_connection_params()
    other = psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"},
                            autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        report = sweep(now=NOW)
        assert report.locked_out and report.items == 0
        assert sweep_scenario.fingerprint(reseller) == before
        other.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
    finally:
        other.close()
    assert not sweep(now=NOW, reseller_slug=reseller.slug).locked_out


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_end_as_one_clean_run():
    reference = _clean_reference()
    reseller = sweep_scenario.build(copies=3)
    clean3 = sweep_scenario.build(copies=3)
    sweep(now=NOW, reseller_slug=clean3.slug)
    barrier = threading.Barrier(2)
    reports = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(sweep(now=NOW, reseller_slug=reseller.slug))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2 and all(r.errors == 0 for r in reports)
    # Whether the second waited out the lock or found nothing left, the effects happened once.
    assert sum(r.items for r in reports) == sum(
        r.items for r in reports if not r.locked_out)
    assert sweep_scenario.fingerprint(reseller) == sweep_scenario.fingerprint(clean3)
    assert sweep_scenario.fingerprint(reseller)["accounts"]["expiring0"] == \
        reference["accounts"]["expiring0"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_batches_on_several_connections_end_as_one_run_on_one(settings, caplog):
    settings.SWEEP_WORKERS = 1
    one = sweep_scenario.build(copies=5)
    assert sweep(now=NOW, reseller_slug=one.slug, batch_size=2).errors == 0
    settings.SWEEP_WORKERS = 3
    several = sweep_scenario.build(copies=5)
    with caplog.at_level("DEBUG", logger="apps.subscriptions.sweep"):
        report = sweep(now=NOW, reseller_slug=several.slug, batch_size=2)
    assert "sweep: batches on 3 connections" in caplog.text
    assert (report.errors, report.expired, report.suspended, report.terminated,
            report.reminders) == (0, 5, 5, 5, 5)

    assert sweep_scenario.fingerprint(several) == sweep_scenario.fingerprint(one)
