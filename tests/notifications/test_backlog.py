"""Emails held while no delivery was set up wait for the reseller's choice: setting delivery
up sends none of them; the reseller sends them all, only the recent ones, or discards them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.errors import ValidationError
from apps.notifications.models import OutboxMessage
from apps.notifications.selectors import email_backlog, email_delivery_warning
from apps.notifications.services import (
    outbox_backlog_discard,
    outbox_backlog_send,
    outbox_deliver_due,
    outbox_enqueue,
)
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, grant
from ..factories import MembershipFactory, SubscriberFactory
from ..mailserver import MailCatcher, running_smtp_server
from .helpers import use_smtp

DAY = dt.timedelta(days=1)


@pytest.fixture
def smtp() -> Iterator[tuple[MailCatcher, int]]:
    with running_smtp_server() as server:
        yield server


def _welcome(reseller: Reseller, plan: Any, *, at: dt.datetime, name: str = "Ana") -> tuple[
        OutboxMessage, str]:
    """An account activated at `at`, and its welcome email (with the password) held."""
    grant(reseller, 1, now=at)
    subscriber = SubscriberFactory.create(reseller=reseller, name=name)
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=at)
    row = OutboxMessage.objects.get(account=account, event="welcome")
    assert row.status == "not_sent_no_email_backend"
    return row, password


def _held(reseller: Reseller, event: str, at: dt.datetime, n: int) -> None:
    outbox_enqueue(reseller=reseller, livemode=True, event=event, dedupe_key=f"{event}:{n}",
                   recipient=f"s{n}@example.net", context={"days_left": 3}, now=at)


def _owner(reseller: Reseller) -> tuple[Actor, Client]:
    user = MembershipFactory.create(reseller=reseller, role="owner").user
    client = Client()
    client.force_login(user)
    return Actor.for_user(user), client


def _status(row: OutboxMessage) -> str:
    return OutboxMessage.objects.get(pk=row.pk).status


def test_setting_delivery_up_sends_none_of_the_held_emails(reseller, plan, smtp):
    catcher, port = smtp
    row, _ = _welcome(reseller, plan, at=NOW - 20 * DAY)
    use_smtp(reseller, port, now=NOW)
    outbox_deliver_due(now=NOW)
    assert _status(row) == "not_sent_no_email_backend"
    assert catcher.received == []
    # Mail written from now on goes out as before.
    grant(reseller, 1, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    fresh = OutboxMessage.objects.get(account=account, event="welcome")
    assert fresh.status == "queued"


def test_send_recent_sends_only_the_recent_ones_each_once_even_asked_twice(
    reseller, plan, smtp
):
    catcher, port = smtp
    old, old_password = _welcome(reseller, plan, at=NOW - 20 * DAY, name="Old")
    recent, recent_password = _welcome(reseller, plan, at=NOW - 2 * DAY, name="Recent")
    use_smtp(reseller, port, now=NOW)

    first = outbox_backlog_send(actor=SYSTEM, reseller=reseller, within_days=7, now=NOW)
    second = outbox_backlog_send(actor=SYSTEM, reseller=reseller, within_days=7, now=NOW)
    assert (first.queued, first.waiting) == (1, 1)
    assert (second.queued, second.waiting) == (0, 1)
    outbox_deliver_due(now=NOW)
    outbox_deliver_due(now=NOW)

    assert len(catcher.received) == 1
    assert recent_password in catcher.received[0].text
    # The weeks-old welcome email and its password never went out.
    assert not any(old_password in m.text for m in catcher.received)
    assert _status(recent) == "sent" and _status(old) == "not_sent_no_email_backend"
    assert AuditEntry.objects.filter(action="notifications.backlog_send").count() == 2


def test_send_all_sends_every_held_email_but_a_reminder_too_old_to_be_true(
    reseller, plan, smtp
):
    catcher, port = smtp
    welcome, _ = _welcome(reseller, plan, at=NOW - 20 * DAY)
    _held(reseller, "renewal_reminder", NOW - 3 * DAY, 1)
    use_smtp(reseller, port, now=NOW)
    result = outbox_backlog_send(actor=SYSTEM, reseller=reseller, now=NOW)
    assert (result.queued, result.stale, result.waiting) == (1, 1, 0)
    outbox_deliver_due(now=NOW)
    assert _status(welcome) == "sent" and len(catcher.received) == 1
    assert OutboxMessage.objects.get(event="renewal_reminder").status == "stale"


def test_nothing_is_sent_before_delivery_is_set_up(reseller, plan):
    row, _ = _welcome(reseller, plan, at=NOW - DAY)
    with pytest.raises(ValidationError) as refused:
        outbox_backlog_send(actor=SYSTEM, reseller=reseller, now=NOW)
    assert refused.value.code == "email_delivery_not_configured"
    assert _status(row) == "not_sent_no_email_backend"


def test_discarded_emails_stay_with_who_and_when_and_never_send(reseller, plan, smtp):
    catcher, port = smtp
    actor, _ = _owner(reseller)
    row, _ = _welcome(reseller, plan, at=NOW - 20 * DAY)
    result = outbox_backlog_discard(actor=actor, reseller=reseller, now=NOW)
    assert (result.discarded, result.waiting) == (1, 0)
    row.refresh_from_db()
    assert row.status == "discarded"
    assert row.discarded_at == NOW
    assert actor.user is not None
    assert row.discarded_by == actor.user.email and row.discarded_by_user_id == actor.user.pk
    audit = AuditEntry.objects.get(action="notifications.backlog_discard")
    assert audit.after is not None and audit.after["discarded"] == 1

    use_smtp(reseller, port, now=NOW)
    assert outbox_backlog_send(actor=SYSTEM, reseller=reseller, now=NOW).queued == 0
    outbox_deliver_due(now=NOW)
    assert _status(row) == "discarded" and catcher.received == []


def test_discard_older_keeps_the_recent_ones_waiting(reseller, plan):
    old, _ = _welcome(reseller, plan, at=NOW - 20 * DAY)
    recent, _ = _welcome(reseller, plan, at=NOW - 2 * DAY)
    result = outbox_backlog_discard(actor=SYSTEM, reseller=reseller, older_than_days=7, now=NOW)
    assert (result.discarded, result.waiting) == (1, 1)
    assert (_status(old), _status(recent)) == ("discarded", "not_sent_no_email_backend")


def test_an_email_written_after_the_confirmation_is_not_swept_in(reseller, plan):
    seen, _ = _welcome(reseller, plan, at=NOW - DAY)
    later, _ = _welcome(reseller, plan, at=NOW + dt.timedelta(minutes=1))
    outbox_backlog_discard(actor=SYSTEM, reseller=reseller, as_of=NOW,
                           now=NOW + dt.timedelta(minutes=2))
    assert (_status(seen), _status(later)) == ("discarded", "not_sent_no_email_backend")


def test_the_database_refuses_a_discarded_row_without_who_or_when(reseller, plan):
    row, _ = _welcome(reseller, plan, at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.filter(pk=row.pk).update(status="discarded", discarded_at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.filter(pk=row.pk).update(status="discarded", discarded_by="a@b.c")


@pytest.mark.parametrize("days", [0, -1, 3651, "7", 1.5])
def test_a_bad_number_of_days_is_refused(reseller, days):
    with pytest.raises(ValidationError) as refused:
        outbox_backlog_discard(actor=SYSTEM, reseller=reseller, older_than_days=days, now=NOW)
    assert refused.value.code == "invalid_days" and refused.value.param == "days"


def test_the_backlog_counts_by_kind_and_age_in_queries_that_do_not_grow(
    reseller, django_assert_max_num_queries
):
    _held(reseller, "suspended", NOW - DAY, 99)
    outbox_backlog_discard(actor=SYSTEM, reseller=reseller, now=NOW)  # discarded: not counted
    ages = {"welcome": [dt.timedelta(hours=2), 3 * DAY, 10 * DAY, 40 * DAY],
            "renewal_reminder": [dt.timedelta(hours=5), dt.timedelta(hours=6)],
            "expired": [2 * DAY]}
    n = 0
    for event, offsets in ages.items():
        for offset in offsets:
            n += 1
            _held(reseller, event, NOW - offset, n)

    with django_assert_max_num_queries(3):
        backlog = email_backlog(reseller, actor=SYSTEM, now=NOW)
    kinds = {k.event: (k.under_1_day, k.from_1_to_7_days, k.older) for k in backlog.kinds}
    assert kinds == {"welcome": (1, 1, 2), "renewal_reminder": (2, 0, 0), "expired": (0, 1, 0)}
    assert (backlog.total, backlog.under_1_day, backlog.from_1_to_7_days, backlog.older) == (
        7, 3, 2, 2)
    assert backlog.with_passwords == 4
    assert backlog.oldest_at == NOW - 40 * DAY and backlog.oldest_age_days == 40
    assert backlog.delivery_configured is False

    for i in range(30):
        _held(reseller, "terminated", NOW - i * DAY, 1000 + i)
    with django_assert_max_num_queries(3):
        assert email_backlog(reseller, actor=SYSTEM, now=NOW).total == 37


def test_the_banner_counts_only_what_really_waits(reseller, plan, smtp):
    _, port = smtp
    for i in range(3):
        _held(reseller, "expired", NOW - i * DAY, i)
    outbox_backlog_discard(actor=SYSTEM, reseller=reseller, older_than_days=1, now=NOW)
    warning = email_delivery_warning(reseller, actor=SYSTEM)
    assert warning is not None and warning.kind == "not_configured"
    assert warning.held_messages == 2

    use_smtp(reseller, port, now=NOW)
    warning = email_delivery_warning(reseller, actor=SYSTEM)
    assert warning is not None and (warning.kind, warning.held_messages) == ("waiting", 2)
    outbox_backlog_discard(actor=SYSTEM, reseller=reseller, now=NOW)
    assert email_delivery_warning(reseller, actor=SYSTEM) is None


# ---------------------------------------------------------------- the dashboard


def test_the_page_shows_what_waits_asks_first_then_sends_once(reseller, plan, smtp):
    catcher, port = smtp
    _, client = _owner(reseller)
    now = dt.datetime.now(dt.UTC)
    old, old_password = _welcome(reseller, plan, at=now - 20 * DAY)
    recent, _ = _welcome(reseller, plan, at=now - 2 * DAY)
    use_smtp(reseller, port)

    page = client.get(reverse("dashboard:email_backlog")).content.decode()
    assert 'data-event="welcome"' in page and 'data-total="2"' in page
    assert "2 of them are welcome emails with a password." in page

    url = reverse("dashboard:email_backlog_send")
    asked = client.post(url, {"scope": "recent", "days": "7"}, HTTP_HX_REQUEST="true")
    html = asked.content.decode()
    assert asked.status_code == 200 and 'data-testid="backlog-confirm"' in html
    assert "Send 1 email written in the last 7 days now?" in html
    assert _status(recent) == "not_sent_no_email_backend"  # asking changed nothing

    as_of = html.split('name="as_of" value="')[1].split('"')[0]
    confirm = {"scope": "recent", "days": "7", "confirm": "1", "as_of": as_of}
    done = client.post(url, confirm, HTTP_HX_REQUEST="true").content.decode()
    assert "1 email is on its way." in done and "1 email is still waiting." in done
    again = client.post(url, confirm, HTTP_HX_REQUEST="true").content.decode()
    assert "No email matched: nothing was done." in again
    outbox_deliver_due()
    assert len(catcher.received) == 1 and old_password not in catcher.received[0].text
    assert _status(old) == "not_sent_no_email_backend"

    # Without htmx: a message, and back to the page the form came from.
    gone = client.post(reverse("dashboard:email_backlog_discard"),
                       {"scope": "all", "confirm": "1", "back": "/settings/"})
    assert gone.status_code == 302 and gone["Location"] == "/settings/"
    assert _status(old) == "discarded"


def test_the_page_refuses_bad_input_with_a_message_and_other_roles(reseller):
    _, client = _owner(reseller)
    url = reverse("dashboard:email_backlog_discard")
    missing = client.post(url, {"scope": "older"}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 400 and "Give a number of days." in missing.content.decode()
    zero = client.post(url, {"scope": "older", "days": "0"}, HTTP_HX_REQUEST="true")
    assert zero.status_code == 400 and "errorlist" in zero.content.decode()
    wrong = client.post(url, {"scope": "recent", "days": "3"}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 400 and "Choose what to do." in wrong.content.decode()

    viewer = Client()
    viewer.force_login(MembershipFactory.create(reseller=reseller, role="viewer").user)
    assert viewer.get(reverse("dashboard:email_backlog")).status_code == 403
    assert viewer.post(url, {"scope": "all", "confirm": "1"}).status_code == 403


def test_sending_before_delivery_works_says_why_and_sends_nothing(reseller, plan):
    _, client = _owner(reseller)
    row, _ = _welcome(reseller, plan, at=dt.datetime.now(dt.UTC) - DAY)
    response = client.post(reverse("dashboard:email_backlog_send"),
                           {"scope": "all", "confirm": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Set up email delivery first" in response.content.decode()
    assert _status(row) == "not_sent_no_email_backend"


def test_the_overview_banner_says_emails_wait_once_delivery_works(reseller, plan, smtp):
    _, port = smtp
    _, client = _owner(reseller)
    _welcome(reseller, plan, at=dt.datetime.now(dt.UTC) - DAY)
    use_smtp(reseller, port)
    page = client.get(reverse("dashboard:overview")).content.decode()
    assert "1 email written before email delivery was set up is waiting" in page
