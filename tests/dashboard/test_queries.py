"""Queries per page do not grow with the rows on it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.crm.services import device_add, follow_up_note, interaction_add, note_add
from apps.payments.charges import payment_refund, wallet_top_up
from apps.subscriptions.services import account_renew
from tests.conftest import SYSTEM, grant
from tests.factories import PlanFactory, SubscriberFactory

from .conftest import make_account

pytestmark = pytest.mark.django_db

PAGES = ["overview", "billing", "payments", "subscribers", "expiring", "queue", "plans", "audit"]


def add_rows(world, n: int) -> None:
    grant(world.reseller, 10 * n)
    for i in range(n):
        plan = PlanFactory.create(reseller=world.reseller, name=f"P{i}-{world.reseller.pk}-{n}")
        subscriber = SubscriberFactory.create(reseller=world.reseller)
        account = make_account(world.reseller, plan, subscriber)
        account_renew(actor=SYSTEM, account=account)
        follow_up_note(actor=SYSTEM, account=account, note="call")
        acc2 = make_account(world.reseller, world.plan, world.subscriber)
        account_renew(actor=SYSTEM, account=acc2)
        note_add(actor=SYSTEM, subscriber=world.subscriber, body=f"note {i}", pinned=i % 2 == 0)
        interaction_add(actor=SYSTEM, subscriber=world.subscriber, channel="email",
                        subject=f"s{i}", resolution="done" if i % 2 else "")
        device_add(actor=SYSTEM, subscriber=world.subscriber, device_type="TV", account=acc2)
        paid = wallet_top_up(actor=SYSTEM, subscriber=world.subscriber, amount=500 + i,
                             currency="EUR", source="cash", reference=f"R-{n}-{i}",
                             idempotency_key=f"q-{n}-{i}").payment
        payment_refund(actor=SYSTEM, payment=paid, amount=100, idempotency_key=f"q-{n}-{i}")
        wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=700, currency="USD",
                      source="bank_transfer", reference=f"S-{n}-{i}",
                      idempotency_key=f"s-{n}-{i}")


def count_queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("name", [*PAGES, "subscriber"])
def test_queries_do_not_grow_with_rows(world, signed_in, django_assert_max_num_queries, name):
    client = signed_in(world.reseller, "owner")
    args = [world.subscriber.pk] if name == "subscriber" else []
    url = reverse(f"dashboard:{name}", args=args)
    add_rows(world, 2)
    few = count_queries(client, url, django_assert_max_num_queries, 40)
    add_rows(world, 8)
    many = count_queries(client, url, django_assert_max_num_queries, few)
    assert many <= few
