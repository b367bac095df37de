"""The subscriber list: search, filters, keyset pages, bulk actions, export; the CRM page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.dashboard.selectors import AccountFilter, account_page
from apps.notifications.models import OutboxMessage
from apps.subscriptions.models import PendingOperation, ServiceAccount
from apps.subscriptions.services import (
    account_set_auto_renew,
    account_terminate,
    subscriber_update,
)
from tests.conftest import SYSTEM, grant
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

from .conftest import make_account, member

pytestmark = pytest.mark.django_db


def usernames(page) -> set[str]:
    return {a.username for a in page.rows}


@pytest.fixture
def crowd(world):
    grant(world.reseller, 100)
    accounts = []
    for i in range(12):
        subscriber = SubscriberFactory.create(reseller=world.reseller, name=f"Person {i:02d}",
                                              email=f"p{i}@mail.example")
        accounts.append(make_account(world.reseller, world.plan, subscriber))
    subscriber_update(actor=SYSTEM, subscriber=accounts[3].subscriber, external_id="WHMCS-77")
    account_set_auto_renew(actor=SYSTEM, account=accounts[5], auto_renew=False)
    return accounts


def test_search_by_name_email_username_and_external_id(world, crowd):
    actor = Actor.for_user(member(world.reseller, "viewer"))

    def search(q: str) -> set[str]:
        return usernames(account_page(world.reseller, actor=actor, filters=AccountFilter(q=q)))

    assert search("Person 07") == {crowd[7].username}
    assert search("p8@mail") == {crowd[8].username}
    assert search(crowd[2].username.upper()) == {crowd[2].username}
    assert search("WHMCS-77") == {crowd[3].username}
    assert search("nobody-matches") == set()


def test_filters_status_plan_auto_renew_expiring_pending(world, crowd):
    actor = SYSTEM
    page = account_page(world.reseller, actor=actor, filters=AccountFilter(auto_renew=False))
    assert usernames(page) == {crowd[5].username}
    page = account_page(world.reseller, actor=actor,
                        filters=AccountFilter(status="active", plan_id=world.plan.pk))
    assert page.count == 13
    now = dt.datetime.now(tz=dt.UTC)
    assert account_page(world.reseller, actor=actor, filters=AccountFilter(expiring_days=7),
                        now=now).count == 0
    assert account_page(world.reseller, actor=actor, filters=AccountFilter(expiring_days=30),
                        now=now + dt.timedelta(days=25)).count == 13
    page = account_page(world.reseller, actor=actor, filters=AccountFilter(pending=True))
    assert page.count == 0
    dear = PlanFactory.create(reseller=world.reseller, name="Dear", credit_cost=10_000)
    waiting = make_account(world.reseller, dear, SubscriberFactory.create(reseller=world.reseller))
    assert waiting.status == "pending"
    page = account_page(world.reseller, actor=actor, filters=AccountFilter(pending=True))
    assert usernames(page) == {waiting.username}


@pytest.mark.parametrize("sort", ["expires", "newest", "username"])
def test_keyset_pages_cover_every_row_once(world, crowd, sort):
    seen: list[str] = []
    cursor = ""
    while True:
        page = account_page(world.reseller, actor=SYSTEM, filters=AccountFilter(sort=sort),
                            cursor=cursor, page_size=5)
        seen += [a.username for a in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 13


def test_list_page_and_htmx_more_rows(world, crowd, signed_in):
    client = signed_in(world.reseller, "viewer")
    page = client.get(reverse("dashboard:subscribers"), {"q": "Person 1"}).content.decode()
    assert "Person 10" in page and "Person 11" in page and "Person 02" not in page
    more = client.get(reverse("dashboard:subscribers"), {"after": "|999999999", "sort": "newest"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in more


def test_bulk_extend_and_reminder(world, crowd, signed_in):
    client = signed_in(world.reseller, "billing")
    before = ServiceAccount.objects.get(pk=crowd[0].pk).expires_at
    client.post(reverse("dashboard:subscribers_bulk"),
                {"action": "extend", "account": [crowd[0].pk, crowd[1].pk,
                                                 world.other_account.pk]})
    after = ServiceAccount.objects.get(pk=crowd[0].pk).expires_at
    assert before is not None and after is not None and after > before
    # Another reseller's account in the selection is ignored.
    other = ServiceAccount.objects.get(pk=world.other_account.pk)
    assert other.expires_at == world.other_account.expires_at
    client.post(reverse("dashboard:subscribers_bulk"),
                {"action": "remind", "account": [crowd[2].pk]})
    # The reminder is an outbox row for the subscriber (test_integration delivers them).
    rows = OutboxMessage.objects.filter(event="renewal_reminder", account=crowd[2])
    assert [r.recipient for r in rows] == ["p2@mail.example"]


def test_bulk_extend_says_what_was_renewed_what_waits_and_what_was_refused(signed_in):
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller)
    grant(reseller, 3)
    renewed, waiting, ended = (make_account(reseller, plan, SubscriberFactory.create(
        reseller=reseller)) for _ in range(3))
    account_terminate(actor=SYSTEM, account=ended)
    grant(reseller, 1)
    client = signed_in(reseller, "billing")
    page = client.post(reverse("dashboard:subscribers_bulk"), {
        "action": "extend", "account": [renewed.pk, waiting.pk, ended.pk]},
        follow=True).content.decode()
    assert "1 account extended." in page
    assert "1 renewal waits for credits and completes when they arrive." in page
    assert f"{ended.username}: " in page
    assert PendingOperation.objects.get(account=waiting).status == "waiting"


def test_new_account_for_a_new_subscriber_never_reuses_one_with_the_same_email(world, signed_in):
    world.subscriber.email = "ana@example.com"
    world.subscriber.save()
    client = signed_in(world.reseller, "owner")
    client.post(reverse("dashboard:account_new"), {
        "name": "Another Ana", "email": "ana@example.com", "plan": world.plan.pk, "months": 1,
        "renewal_source": "external", "confirm": "1"})
    account = ServiceAccount.objects.get(subscriber__name="Another Ana")
    assert account.subscriber_id != world.subscriber.pk
    assert account.renewal_source == "external"


def test_viewer_cannot_bulk_extend(world, crowd, signed_in):
    client = signed_in(world.reseller, "viewer")
    response = client.post(reverse("dashboard:subscribers_bulk"),
                           {"action": "extend", "account": [crowd[0].pk]})
    assert response.status_code == 403


def test_export_is_the_filtered_list(world, crowd, signed_in):
    client = signed_in(world.reseller, "support")
    response = client.get(reverse("dashboard:subscribers_export"), {"auto_renew": "no"})
    body = b"".join(response.streaming_content).decode()
    lines = body.strip().splitlines()
    assert len(lines) == 2 and crowd[5].username in lines[1]


def test_reveal_shows_credentials_and_is_audited(world, signed_in):
    client = signed_in(world.reseller, "support")
    response = client.post(reverse("dashboard:reveal", args=[world.account.pk]),
                           HTTP_HX_REQUEST="true")
    assert world.account.username in response.content.decode()
    assert AuditEntry.objects.filter(action="account.reveal_credentials",
                                     object_id=str(world.account.pk)).count() == 1


def test_expiring_soon_note_and_contacted_mark(world, signed_in):
    with time_machine.travel(world.account.expires_at - dt.timedelta(days=3), tick=False):
        client = signed_in(world.reseller, "support")
        page = client.get(reverse("dashboard:expiring")).content.decode()
        assert world.account.username in page
        client.post(reverse("dashboard:follow_up", args=[world.account.pk]),
                    {"note": "Calls back Friday"})
        client.post(reverse("dashboard:follow_up", args=[world.account.pk]), {"contacted": "1"})
        page = client.get(reverse("dashboard:expiring")).content.decode()
        assert "Calls back Friday" in page and "Contacted" in page
        queue = client.get(reverse("dashboard:queue")).content.decode()
        assert "Calls back Friday" in queue


def test_queue_renew_in_one_click_with_htmx(world, signed_in):
    with time_machine.travel(world.account.expires_at - dt.timedelta(days=2), tick=False):
        client = signed_in(world.reseller, "billing")
        response = client.post(reverse("dashboard:renew", args=[world.account.pk]),
                               HTTP_HX_REQUEST="true")
        assert "Renewed until" in response.content.decode()
    account = ServiceAccount.objects.get(pk=world.account.pk)
    assert account.expires_at > world.account.expires_at


def test_account_actions_from_the_subscriber_page(world, signed_in):
    client = signed_in(world.reseller, "owner")
    url = reverse("dashboard:subscriber", args=[world.subscriber.pk])
    client.post(reverse("dashboard:suspend", args=[world.account.pk]))
    assert ServiceAccount.objects.get(pk=world.account.pk).status == "suspended"
    # Suspending twice is refused with a message, not an error page.
    response = client.post(reverse("dashboard:suspend", args=[world.account.pk]), follow=True)
    assert response.status_code == 200 and "error" in response.content.decode()
    client.post(reverse("dashboard:unsuspend", args=[world.account.pk]))
    assert ServiceAccount.objects.get(pk=world.account.pk).status == "active"
    page = client.post(reverse("dashboard:reset_password", args=[world.account.pk]))
    assert 'data-testid="password"' in page.content.decode()
    client.post(reverse("dashboard:terminate", args=[world.account.pk]), {"confirm": "1"})
    assert ServiceAccount.objects.get(pk=world.account.pk).status == "terminated"
    assert client.get(url).status_code == 200


def test_crm_notes_interactions_devices_on_the_page(world, signed_in):
    client = signed_in(world.reseller, "support")
    sid = world.subscriber.pk
    client.post(reverse("dashboard:note_add", args=[sid]), {"body": "Prefers WhatsApp"})
    client.post(reverse("dashboard:interaction_add", args=[sid]), {
        "channel": "whatsapp", "subject": "Buffering on the TV", "details": "since Monday"})
    client.post(reverse("dashboard:device_add", args=[sid]), {
        "device_type": "Smart TV", "app": "Player", "device_id": "MAC-01"})
    page = client.get(reverse("dashboard:subscriber", args=[sid])).content.decode()
    for text in ("Prefers WhatsApp", "Buffering on the TV", "Smart TV", "MAC-01"):
        assert text in page
    found = client.get(reverse("dashboard:subscriber", args=[sid]), {"iq": "buffer"},
                       HTTP_HX_REQUEST="true").content.decode()
    assert "Buffering on the TV" in found
    missing = client.get(reverse("dashboard:subscriber", args=[sid]), {"iq": "invoice"},
                         HTTP_HX_REQUEST="true").content.decode()
    assert "Buffering on the TV" not in missing


def test_overview_counts_credits_due_and_the_queue(world, signed_in):
    with time_machine.travel(world.account.expires_at - dt.timedelta(days=3), tick=False):
        client = signed_in(world.reseller, "viewer")
        page = client.get(reverse("dashboard:overview"))
    data = page.context["data"]
    assert data.credits_due_7 == 1 and data.credits_due_30 == 1
    assert data.queue_by_reason == {"expiring": 1}
    assert data.expiring_7_count == 1
