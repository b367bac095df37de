"""The renewal queue: a compact table per reason with its count, paginated, each row's
actions in a menu; waiting rows show their cost and "Activate now" where the balance
covers it; suspended rows with paid time left offer "Unsuspend"."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.subscriptions.models import OperationStatus, PendingOperation, Plan, ServiceAccount
from apps.subscriptions.services import account_create, account_expire, account_suspend
from tests.conftest import SYSTEM, grant
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

from .conftest import member

pytestmark = pytest.mark.django_db


@dataclass
class Queue:
    """A reseller with an account for every reason of the queue."""

    reseller: Reseller
    monthly: Plan
    yearly: Plan
    big_waiting: ServiceAccount  # 12 credits, first in the pending queue: the balance is short
    small_waiting: ServiceAccount  # 1 credit, behind it: the balance covers it
    suspended_paid: ServiceAccount  # suspended with its period still running
    suspended_over: ServiceAccount  # suspended after its period ended
    grace: ServiceAccount
    expiring: list[ServiceAccount] = field(default_factory=list)


def _account(reseller: Reseller, plan: Plan, *, at: dt.datetime | None = None,
             name: str | None = None) -> ServiceAccount:
    subscriber = SubscriberFactory.create(reseller=reseller, **({"name": name} if name else {}))
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=at)
    return account


def _without_the_drain() -> override_settings:
    """Credits granted for new rows, without the pending queue spending them first."""
    return override_settings(DOMAIN_EVENT_CONSUMERS=[
        path for path in settings.DOMAIN_EVENT_CONSUMERS
        if path != "apps.subscriptions.consumers.on_domain_event"])


def add_expiring(queue: Queue, n: int) -> None:
    soon = timezone.now() - dt.timedelta(days=27)  # a month from then is within 7 days
    with _without_the_drain():
        grant(queue.reseller, n)
        queue.expiring += [_account(queue.reseller, queue.monthly, at=soon) for _ in range(n)]


def add_grace(queue: Queue, n: int) -> None:
    with _without_the_drain():
        grant(queue.reseller, n)
        for _ in range(n):
            account = _account(queue.reseller, queue.monthly,
                               at=timezone.now() - dt.timedelta(days=45))
            account_expire(actor=SYSTEM, account=account)


def build_queue(*, expiring: int = 1) -> Queue:
    now = timezone.now()
    reseller = ResellerFactory.create(name="Queue Co")
    monthly = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    yearly = PlanFactory.create(reseller=reseller, name="Yearly", duration_months=12)
    long_ago = now - dt.timedelta(days=45)
    grant(reseller, 3)
    suspended_paid = _account(reseller, monthly, name="Sara Paid")
    account_suspend(actor=SYSTEM, account=suspended_paid)
    suspended_over = _account(reseller, monthly, at=long_ago, name="Omar Over")
    account_expire(actor=SYSTEM, account=suspended_over, now=now - dt.timedelta(days=10))
    account_suspend(actor=SYSTEM, account=suspended_over)
    grace = _account(reseller, monthly, at=long_ago, name="Gina Grace")
    account_expire(actor=SYSTEM, account=grace, now=now)
    # The balance is 0: both wait; then 5 credits arrive and the queue stops at the first.
    big = _account(reseller, yearly, name="Bea Big")
    small = _account(reseller, monthly, name="Sam Small")
    grant(reseller, 5)
    queue = Queue(reseller=reseller, monthly=monthly, yearly=yearly, big_waiting=big,
                  small_waiting=small, suspended_paid=suspended_paid,
                  suspended_over=suspended_over, grace=grace)
    add_expiring(queue, expiring)
    for account in (big, small):
        account.refresh_from_db()
        assert account.status == "pending"
    return queue


@pytest.fixture
def queue() -> Queue:
    return build_queue()


def client_for(reseller: Reseller, role: str = "owner") -> Client:
    client = Client()
    client.force_login(member(reseller, role))
    return client


def section(page: str, key: str) -> str:
    found = re.search(rf'<section class="card queue-section" id="{key}".*?</section>', page,
                      re.S)
    assert found is not None, key
    return found.group(0)


def row(page: str, account: ServiceAccount) -> str:
    found = re.search(rf'<tr id="queue-row-{account.pk}".*?</tr>', page, re.S)
    assert found is not None, account.username
    return found.group(0)


def test_each_reason_has_its_own_table_with_its_count_in_the_heading_and_tab(queue):
    page = client_for(queue.reseller).get(reverse("dashboard:queue")).content.decode()
    for key, label, n in [("pending_credits", "Waiting for credits", 2),
                          ("grace", "In grace", 1), ("suspended", "Suspended", 2),
                          ("expiring", "Expiring within 7 days", 1)]:
        part = section(page, key)
        assert f'{label} <span class="count">({n})</span>' in part, key
        assert part.count('data-testid="queue-row"') == n, key
        assert re.search(rf'data-testid="tab-{key}">{label} <span class="count">{n}</span>',
                         page), key
    assert queue.grace.username in section(page, "grace")
    assert queue.grace.username not in section(page, "expiring")
    assert "6 accounts need attention." in page


def test_a_reason_pages_by_twenty_and_the_others_stay_on_their_first_page(queue):
    add_expiring(queue, 24)  # 25 expiring
    client = client_for(queue.reseller)
    first = client.get(reverse("dashboard:queue")).content.decode()
    assert section(first, "expiring").count('data-testid="queue-row"') == 20
    assert "Page 1 of 2" in section(first, "expiring")
    assert "?reason=expiring&amp;page=2" in section(first, "expiring")
    second = client.get(reverse("dashboard:queue"), {"reason": "expiring", "page": "2"})
    part = section(second.content.decode(), "expiring")
    assert part.count('data-testid="queue-row"') == 5 and "Page 2 of 2" in part
    shown = set(re.findall(r'id="queue-row-(\d+)"', section(first, "expiring")))
    assert shown.isdisjoint(re.findall(r'id="queue-row-(\d+)"', part))
    # The other reasons are still on their first page.
    assert section(second.content.decode(), "grace").count('data-testid="queue-row"') == 1
    # A page past the end shows the last page, not an error.
    past = client.get(reverse("dashboard:queue"), {"reason": "expiring", "page": "99"})
    assert "Page 2 of 2" in section(past.content.decode(), "expiring")


def test_the_pager_through_htmx_returns_only_that_reasons_table(queue):
    add_expiring(queue, 24)
    response = client_for(queue.reseller).get(
        reverse("dashboard:queue"), {"reason": "expiring", "page": "2"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.startswith('<section class="card queue-section" id="expiring"')
    assert "<html" not in body and 'id="grace"' not in body
    assert body.count('data-testid="queue-row"') == 5


def test_waiting_rows_show_their_cost_in_credits_with_the_right_plural(queue):
    page = client_for(queue.reseller).get(reverse("dashboard:queue")).content.decode()
    assert re.search(r'data-testid="cost">12 credits<', row(page, queue.big_waiting))
    assert re.search(r'data-testid="cost">1 credit<', row(page, queue.small_waiting))


def test_waiting_costs_read_in_spanish(queue):
    client = client_for(queue.reseller)
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    page = client.get(reverse("dashboard:queue")).content.decode()
    assert re.search(r'data-testid="cost">12 créditos<', row(page, queue.big_waiting))
    assert re.search(r'data-testid="cost">1 crédito<', row(page, queue.small_waiting))
    assert "Activar ahora" in row(page, queue.small_waiting)
    assert "Pendiente" in row(page, queue.small_waiting)  # the status, translated


def test_activate_now_is_offered_only_where_the_balance_covers_the_cost(queue):
    page = client_for(queue.reseller).get(reverse("dashboard:queue")).content.decode()
    activate = reverse("dashboard:activate", args=[queue.small_waiting.pk])
    assert activate in row(page, queue.small_waiting) and "Activate now" in row(
        page, queue.small_waiting)
    assert "Activate now" not in row(page, queue.big_waiting)
    assert "Waits for credits" in row(page, queue.big_waiting)


def test_activate_now_activates_the_account_ahead_of_the_older_waiting_one(queue):
    client = client_for(queue.reseller)
    response = client.post(reverse("dashboard:activate", args=[queue.small_waiting.pk]),
                           {"back": reverse("dashboard:queue")}, follow=True)
    assert f"{queue.small_waiting.username} is active." in response.content.decode()
    small = ServiceAccount.objects.get(pk=queue.small_waiting.pk)
    assert small.status == "active"
    # Its waiting activation is completed, not left behind to run a second time.
    assert not PendingOperation.objects.filter(account=small,
                                               status=OperationStatus.WAITING).exists()
    queue.reseller.refresh_from_db()
    assert queue.reseller.credit_balance == 4
    assert ServiceAccount.objects.get(pk=queue.big_waiting.pk).status == "pending"


def test_activate_now_with_the_balance_short_says_so_in_the_row(queue):
    response = client_for(queue.reseller).post(
        reverse("dashboard:activate", args=[queue.big_waiting.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'class="result-bad"' in body
    assert queue.big_waiting.username in body and "credits" in body
    assert ServiceAccount.objects.get(pk=queue.big_waiting.pk).status == "pending"


def test_activate_now_through_htmx_answers_with_the_outcome_only(queue):
    response = client_for(queue.reseller).post(
        reverse("dashboard:activate", args=[queue.small_waiting.pk]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'role="status"' in body and "is active." in body


def test_suspended_rows_with_paid_time_left_offer_unsuspend_and_the_others_renew(queue):
    page = client_for(queue.reseller).get(reverse("dashboard:queue")).content.decode()
    paid = row(page, queue.suspended_paid)
    over = row(page, queue.suspended_over)
    assert reverse("dashboard:unsuspend", args=[queue.suspended_paid.pk]) in paid
    assert reverse("dashboard:renew", args=[queue.suspended_paid.pk]) in paid
    assert reverse("dashboard:unsuspend", args=[queue.suspended_over.pk]) not in over
    assert reverse("dashboard:renew", args=[queue.suspended_over.pk]) in over


def test_unsuspend_from_the_queue_reactivates_and_comes_back_to_the_queue(queue):
    client = client_for(queue.reseller)
    back = reverse("dashboard:queue") + "?reason=suspended&page=1"
    response = client.post(reverse("dashboard:unsuspend", args=[queue.suspended_paid.pk]),
                           {"back": back})
    assert response.status_code == 302 and response["Location"] == back
    assert ServiceAccount.objects.get(pk=queue.suspended_paid.pk).status == "active"


def test_row_actions_sit_in_a_menu_opened_on_click(queue):
    page = client_for(queue.reseller).get(reverse("dashboard:queue")).content.decode()
    grace = row(page, queue.grace)
    menu = re.search(r'<details class="menu"><summary>Actions</summary>(.*?)</details>', grace,
                     re.S)
    assert menu is not None
    # The note, the contacted mark and renew are inside the menu, not spread over the row.
    for inside in ('name="note"', "Mark contacted",
                   reverse("dashboard:renew", args=[queue.grace.pk])):
        assert inside in menu.group(1), inside
    assert grace.count("<form") == menu.group(1).count("<form")


def test_a_note_shows_in_the_row_without_opening_the_menu(queue):
    client = client_for(queue.reseller)
    client.post(reverse("dashboard:follow_up", args=[queue.grace.pk]),
                {"note": "Calls back Friday"})
    page = client.get(reverse("dashboard:queue")).content.decode()
    cell = re.search(r'<td class="note-cell"[^>]*>(.*?)</td>', row(page, queue.grace), re.S)
    assert cell is not None and "Calls back Friday" in cell.group(1)


def test_a_viewer_sees_the_queue_without_actions(queue):
    page = client_for(queue.reseller, "viewer").get(reverse("dashboard:queue")).content.decode()
    assert queue.small_waiting.username in page
    assert "Activate now" not in page
    assert "<form" not in section(page, "suspended")


def test_queue_queries_do_not_grow_with_the_rows(queue, django_assert_max_num_queries):
    client = client_for(queue.reseller)
    url = reverse("dashboard:queue")
    with django_assert_max_num_queries(40) as few:
        assert client.get(url).status_code == 200
    add_expiring(queue, 30)
    add_grace(queue, 5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert section(page, "expiring").count('data-testid="queue-row"') == 20
    assert section(page, "grace").count('data-testid="queue-row"') == 6
    assert section(page, "pending_credits").count('data-testid="queue-row"') == 2
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url, {"reason": "expiring", "page": "2"}).status_code == 200
