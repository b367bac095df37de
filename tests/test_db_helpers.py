"""insert_instance, update_instance, fetch: one prepared statement, as the ORM would store."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from apps.api.models import WebhookEndpoint
from apps.core.db import fetch, fetch_one, insert_instance, update_instance
from apps.core.events import memoized, publishing_many, recall, remember
from apps.subscriptions.models import ServiceAccount, Subscriber

from .conftest import NOW


def test_insert_instance_sets_the_key_and_the_automatic_times(reseller):
    subscriber = Subscriber(reseller=reseller, name="Ana", email="ana@example.net",
                            external_id="ext-1")
    with time_machine.travel(NOW, tick=False):
        assert insert_instance(subscriber) is True
    assert subscriber.pk is not None and not subscriber._state.adding
    stored = Subscriber.objects.get(pk=subscriber.pk)
    assert (stored.name, stored.external_id) == ("Ana", "ext-1")
    # auto_now_add and auto_now ran, as save() would run them.
    assert stored.created_at == NOW and stored.updated_at == NOW


def test_a_conflict_is_skipped_and_the_transaction_goes_on(reseller):
    Subscriber.objects.create(reseller=reseller, name="First", external_id="ext-1")
    again = Subscriber(reseller=reseller, name="Second", external_id="ext-1")
    assert insert_instance(again, skip_conflict_on="subscriber_external_id_unique") is False
    assert again.pk is None
    # No failed statement: the same transaction keeps working without a savepoint.
    assert Subscriber.objects.filter(external_id="ext-1").get().name == "First"


def test_a_conflict_raises_unless_asked_to_skip(reseller):
    from django.db import IntegrityError, transaction

    Subscriber.objects.create(reseller=reseller, name="First", external_id="ext-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_instance(Subscriber(reseller=reseller, name="Second", external_id="ext-1"))


def test_only_the_named_constraint_is_skipped(reseller):
    from django.db import IntegrityError, transaction

    first = Subscriber.objects.create(reseller=reseller, name="First", external_id="ext-1")
    # A free external id but a taken primary key: that is not the conflict asked for.
    for external_id in ("ext-2", None):
        with pytest.raises(IntegrityError), transaction.atomic():
            insert_instance(Subscriber(pk=first.pk, reseller=reseller, name="Second",
                                       external_id=external_id),
                            skip_conflict_on="subscriber_external_id_unique")
    assert list(Subscriber.objects.values_list("name", flat=True)) == ["First"]


def test_a_constraint_that_is_not_the_models_is_refused(reseller):
    with pytest.raises(LookupError):
        insert_instance(Subscriber(reseller=reseller, name="Ana"), skip_conflict_on="no_such")


def test_update_instance_writes_the_named_fields_only(active_account):
    later = NOW + dt.timedelta(days=2)
    active_account.status = "suspended"
    active_account.username = "not-saved"
    with time_machine.travel(later, tick=False):
        update_instance(active_account, ["status", "updated_at"])
    stored = ServiceAccount.objects.get(pk=active_account.pk)
    assert stored.status == "suspended" and stored.username != "not-saved"
    assert stored.updated_at == later


def test_update_instance_of_a_missing_row_raises(active_account):
    gone = ServiceAccount(pk=active_account.pk + 10_000, status="active")
    with pytest.raises(ServiceAccount.DoesNotExist):
        update_instance(gone, ["status"])


def test_fetch_builds_instances_with_the_fields_conversions(reseller):
    endpoint = WebhookEndpoint.objects.create(
        reseller=reseller, url="https://billing.example.com/hook", livemode=True,
        events=["account.created", "account.renewed"], secret_encrypted="x", created_at=NOW,
    )
    found = fetch(WebhookEndpoint, 't."reseller_id" = %s AND t."deleted_at" IS NULL',
                  [reseller.pk])
    assert [e.pk for e in found] == [endpoint.pk]
    # JSON comes back as Python data, as from the ORM.
    assert found[0].events == ["account.created", "account.renewed"]
    assert fetch_one(WebhookEndpoint, reseller_id=reseller.pk, livemode=False) is None
    assert fetch_one(WebhookEndpoint, id=endpoint.pk).url == endpoint.url


def test_publishing_many_inside_another_shares_its_memo():
    calls: list[int] = []
    held = object()
    with publishing_many():
        memoized("k", lambda: calls.append(1))
        remember(("account", 1), held)
        with publishing_many():
            memoized("k", lambda: calls.append(2))
            assert recall(("account", 1)) is held
    assert calls == [1]
    # Outside any block nothing is remembered.
    remember(("account", 1), held)
    assert recall(("account", 1)) is None
