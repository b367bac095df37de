"""The overview's charts tell the truth: every local day on the axis, the same accounts as the
expiring table, a scale that one big day does not flatten; and the queue's counts are the
queue's."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.db.models import Count
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Reseller
from apps.dashboard.selectors import expiring_between, overview, queue_counts
from apps.dashboard.views.overview import robust_max
from apps.subscriptions.models import DunningCase, ReminderLog, ServiceAccount
from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import (
    account_create,
    account_expire,
    account_renew,
    account_suspend,
    account_terminate,
)
from tests.conftest import NOW, SYSTEM, grant
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

from .conftest import member

pytestmark = pytest.mark.django_db

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
UTC = dt.UTC


def _account(reseller: Reseller, *, created: dt.datetime, livemode: bool = True,
             auto_renew: bool = True) -> ServiceAccount:
    """A monthly account activated at `created`, so it expires a calendar month later."""
    plan = PlanFactory.create(reseller=reseller)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=livemode)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=created,
                                auto_renew=auto_renew)
    return account


def _expiry(account: ServiceAccount) -> dt.datetime:
    assert account.expires_at is not None
    return account.expires_at


def _page(reseller: Reseller, role: str = "viewer"):
    client = Client()
    client.force_login(member(reseller, role))
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("dashboard:overview"))


@pytest.fixture
def madrid() -> Reseller:
    """NOW is 13:00 on 10 March in Madrid (CET); summer time starts on 29 March, inside the
    30 days the renewals chart shows."""
    reseller = ResellerFactory.create(name="Madrid", timezone="Europe/Madrid")
    grant(reseller, 500, now=NOW - dt.timedelta(days=60))
    grant(reseller, 5, livemode=False, now=NOW - dt.timedelta(days=60))
    return reseller


def _expiring_mix(reseller: Reseller) -> dict[str, ServiceAccount]:
    made = {
        # Local day edges: 23:30 and 00:30 in Madrid, on both sides of the summer-time change.
        "today_late": _account(reseller, created=dt.datetime(2026, 2, 10, 22, 30, tzinfo=UTC)),
        "before_midnight": _account(reseller, created=dt.datetime(2026, 2, 15, 22, 59, tzinfo=UTC)),
        "after_midnight": _account(reseller, created=dt.datetime(2026, 2, 15, 23, 1, tzinfo=UTC)),
        "summer_after_midnight": _account(
            reseller, created=dt.datetime(2026, 3, 1, 22, 30, tzinfo=UTC)),
        "last_day": _account(reseller, created=dt.datetime(2026, 3, 8, 21, 30, tzinfo=UTC)),
        # Counted: no auto-renewal still expires, and the table lists it.
        "no_auto_renew": _account(reseller, created=dt.datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
                                  auto_renew=False),
        # Not counted: the day after the 30th (00:30 on 9 April), already past today.
        "day_31": _account(reseller, created=dt.datetime(2026, 3, 8, 22, 30, tzinfo=UTC)),
        "earlier_today": _account(reseller, created=dt.datetime(2026, 2, 10, 11, 0, tzinfo=UTC)),
        "suspended": _account(reseller, created=dt.datetime(2026, 2, 18, 9, 0, tzinfo=UTC)),
        "terminated": _account(reseller, created=dt.datetime(2026, 2, 19, 9, 0, tzinfo=UTC)),
        "test_mode": _account(reseller, created=dt.datetime(2026, 2, 21, 9, 0, tzinfo=UTC),
                              livemode=False),
    }
    account_suspend(actor=SYSTEM, account=made["suspended"], now=NOW)
    account_terminate(actor=SYSTEM, account=made["terminated"], now=NOW)
    assert made["test_mode"].livemode is False
    assert made["day_31"].expires_at == dt.datetime(2026, 4, 8, 22, 30, tzinfo=UTC)
    # The other reseller's accounts never count.
    other = ResellerFactory.create(timezone="Europe/Madrid")
    grant(other, 5, now=NOW - dt.timedelta(days=60))
    _account(other, created=dt.datetime(2026, 2, 16, 9, 0, tzinfo=UTC))
    return made


def test_renewals_chart_has_a_bar_per_local_day_for_the_next_30_days(madrid):
    _expiring_mix(madrid)
    data = overview(madrid, actor=SYSTEM, now=NOW)
    days = [row.day for row in data.due_by_day]
    assert len(days) == 30
    assert days[0] == dt.date(2026, 3, 10)
    assert days == [dt.date(2026, 3, 10) + dt.timedelta(days=i) for i in range(30)]
    assert days[-1] == dt.date(2026, 4, 8)


def test_renewals_chart_counts_the_accounts_the_expiring_table_counts_day_by_day(madrid):
    made = _expiring_mix(madrid)
    data = overview(madrid, actor=SYSTEM, now=NOW)
    live = ServiceAccount.objects.filter(reseller=madrid, livemode=True)
    window_end = dt.datetime(2026, 4, 9, tzinfo=MADRID)
    table = live.filter(expiring_between(NOW, window_end))
    assert sum(row.n for row in data.due_by_day) == table.count() == 6
    for row in data.due_by_day:
        start = max(NOW, dt.datetime.combine(row.day, dt.time(), tzinfo=MADRID))
        end = dt.datetime.combine(row.day + dt.timedelta(days=1), dt.time(), tzinfo=MADRID)
        assert row.n == live.filter(expiring_between(start, end)).count(), row.day
    by_day = {row.day: row.n for row in data.due_by_day}
    # 22:59 UTC is 23:59 in Madrid, 23:01 UTC already the next local day.
    assert by_day[dt.date(2026, 3, 15)] == 1 and by_day[dt.date(2026, 3, 16)] == 1
    # In summer time 22:30 UTC is 00:30 the next day.
    assert _expiry(made["summer_after_midnight"]).date() == dt.date(2026, 4, 1)
    assert by_day[dt.date(2026, 4, 2)] == 1 and by_day[dt.date(2026, 4, 1)] == 0
    assert by_day[dt.date(2026, 3, 10)] == 1 and by_day[dt.date(2026, 4, 8)] == 1
    # The 7-day table on the same page uses the same definition.
    assert data.expiring_7_count == live.filter(
        expiring_between(NOW, NOW + dt.timedelta(days=7))).count() == 3


def test_renewals_chart_is_bars_with_whole_number_ticks_and_its_figures_in_a_table(madrid):
    _expiring_mix(madrid)
    page = _page(madrid)
    spec = page.context["chart"]["due"]
    assert spec["type"] == "bar"
    assert spec["options"]["scales"]["y"]["ticks"]["precision"] == 0
    assert spec["options"]["scales"]["y"]["beginAtZero"] is True
    assert len(spec["data"]["labels"]) == len(spec["data"]["datasets"][0]["data"]) == 30
    html = page.content.decode()
    found = re.search(r'<script id="chart-due" type="application/json">(.*?)</script>', html,
                      re.S)
    assert found is not None
    shipped = json.loads(found.group(1))
    assert shipped["data"]["datasets"][0]["data"] == spec["data"]["datasets"][0]["data"]
    table = html.split('id="due-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 31  # the header and a row per day
    assert "6 accounts expire in the next 30 days." in html


def test_credits_chart_has_every_local_day_with_zeros_where_nothing_moved():
    reseller = ResellerFactory.create(name="Auckland", timezone="Pacific/Auckland")
    auckland = zoneinfo.ZoneInfo("Pacific/Auckland")
    # NOW is 01:00 on 11 March in Auckland (UTC+13): the 30 days are 10 February to 11 March.
    grant(reseller, 462, now=dt.datetime(2026, 3, 7, 9, 0, tzinfo=UTC))  # 22:00, 7 March
    grant(reseller, 4, now=dt.datetime(2026, 3, 10, 10, 59, tzinfo=UTC))  # 23:59, 10 March
    grant(reseller, 6, now=dt.datetime(2026, 3, 10, 11, 1, tzinfo=UTC))  # 00:01, 11 March
    grant(reseller, 9, now=dt.datetime(2026, 2, 9, 11, 30, tzinfo=UTC))  # 00:30, 10 Feb: day one
    grant(reseller, 100, now=dt.datetime(2026, 2, 9, 10, 59, tzinfo=UTC))  # 23:59, 9 Feb: older
    for day in (1, 2, 3, 4):
        _account(reseller, created=dt.datetime(2026, 3, day, 3, 0, tzinfo=UTC))
    data = overview(reseller, actor=SYSTEM, now=NOW)
    today = NOW.astimezone(auckland).date()
    assert today == dt.date(2026, 3, 11)
    days = [row.day for row in data.ledger_by_day]
    assert days == [today - dt.timedelta(days=29 - i) for i in range(30)]
    by_day = {row.day: (row.used, row.added) for row in data.ledger_by_day}
    assert by_day[dt.date(2026, 2, 10)] == (0, 9)
    assert by_day[dt.date(2026, 3, 10)] == (0, 4)
    assert by_day[dt.date(2026, 3, 11)] == (0, 6)
    assert by_day[dt.date(2026, 3, 7)] == (0, 462)
    assert [by_day[dt.date(2026, 3, d)] for d in (1, 2, 3, 4)] == [(1, 0)] * 4
    assert sum(1 for used, added in by_day.values() if used == added == 0) == 30 - 8


def test_credits_chart_scale_stops_below_an_outlier_and_labels_it():
    reseller = ResellerFactory.create(timezone="UTC")
    grant(reseller, 462, now=NOW - dt.timedelta(days=3))
    for back, amount in enumerate((2, 3, 4, 5, 6, 3, 4, 5, 2, 3, 4), start=4):
        grant(reseller, amount, now=NOW - dt.timedelta(days=back))
    page = _page(reseller)
    spec = page.context["chart"]["ledger"]
    y = spec["options"]["scales"]["y"]
    assert y["ticks"]["precision"] == 0
    assert isinstance(y["max"], int) and 6 < y["max"] < 462 / 4
    # The true value stays in the data (tooltips and panel.js's label above the cut bar).
    assert 462 in spec["data"]["datasets"][1]["data"]
    html = page.content.decode()
    assert 'id="ledger-clipped"' in html and f"The scale stops at {y['max']}" in html
    table = html.split('id="ledger-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 31 and "<td>462</td>" in table


@pytest.mark.parametrize(("values", "expected"), [
    ([], None),
    ([462], None),
    ([3, 4, 5, 4], None),  # nothing stands out: the axis fits the tallest bar
    ([2, 3, 4, 5, 6, 3, 4, 5, 2, 3, 4, 462], 9),  # 1.5 x 5.9, rounded up
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 50], 2),
    ([500] * 20 + [5000], 800),  # 750 up to a round number
    ([0, 0, 0, 0, 2, 3], None),
])
def test_robust_max_is_a_whole_number_above_the_90th_percentile_or_none(values, expected):
    assert robust_max(values) == expected


def test_queue_counts_are_the_renewal_queues_own_counts(madrid):
    at = NOW
    month_ago = at - dt.timedelta(days=31)

    def active(created: dt.datetime) -> ServiceAccount:
        return _account(madrid, created=created)

    grace = active(month_ago - dt.timedelta(days=1))
    account_expire(actor=SYSTEM, account=grace, now=at)
    grace_failed = active(month_ago - dt.timedelta(days=2))
    account_expire(actor=SYSTEM, account=grace_failed, now=at)
    suspended = active(month_ago + dt.timedelta(days=20))
    account_suspend(actor=SYSTEM, account=suspended, now=at)
    reminded = active(month_ago + dt.timedelta(days=5))
    reminded_far = active(month_ago + dt.timedelta(days=20))
    for account in (reminded, reminded_far):
        ReminderLog.objects.create(reseller=madrid, account=account, offset_days=7,
                                   period_expires_at=_expiry(account), created_at=at)
    stale_reminder = active(month_ago + dt.timedelta(days=4))
    ReminderLog.objects.create(reseller=madrid, account=stale_reminder, offset_days=7,
                               period_expires_at=_expiry(stale_reminder) - dt.timedelta(days=1),
                               created_at=at)
    for days in (2, 3, 6):
        active(month_ago + dt.timedelta(days=days))
    active(month_ago + dt.timedelta(days=20))  # not in the queue
    for account in (grace_failed, suspended):
        DunningCase.objects.create(reseller=madrid, account=account, opened_at=at,
                                   period_expires_at=_expiry(account), last_attempt_at=at)
    # Waiting for credits: a renewal of a reminded account (the wait wins), and a new account.
    poor = ResellerFactory.create(timezone="Europe/Madrid")
    grant(poor, 1, now=month_ago)
    renewing = _account(poor, created=month_ago + dt.timedelta(days=3))
    ReminderLog.objects.create(reseller=poor, account=renewing, offset_days=7,
                               period_expires_at=_expiry(renewing), created_at=at)
    assert account_renew(actor=SYSTEM, account=renewing, now=at).queued
    assert _account(poor, created=at).status == "pending"

    for reseller in (madrid, poor):
        expected = {
            row["queue_reason"]: row["n"]
            for row in renewal_queue(reseller, actor=SYSTEM, now=at).order_by()
            .values("queue_reason").annotate(n=Count("id"))  # type: ignore[misc]
        }
        assert queue_counts(reseller, actor=SYSTEM, now=at) == expected
    assert queue_counts(madrid, actor=SYSTEM, now=at) == {
        "payment_failed": 2, "grace": 1, "reminded": 2, "expiring": 4,
    }
    assert queue_counts(poor, actor=SYSTEM, now=at) == {"pending_credits": 2}


def test_overview_says_one_credit_in_the_singular_and_links_the_notifications_tab():
    reseller = ResellerFactory.create()
    grant(reseller, 1, now=NOW - dt.timedelta(days=2))
    for cost in (1, 2):  # the first activates on the one credit, the second waits for 2
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=PlanFactory.create(reseller=reseller, credit_cost=cost),
                       now=NOW - dt.timedelta(days=1))
    html = _page(reseller).content.decode()
    assert "2 credits are needed by operations waiting for credits." in html
    assert "1 credit used, 1 credit added." in html
    banner = html.split('id="email-warning"', 1)[1].split("</div>", 1)[0]
    assert f'href="{reverse("dashboard:settings_notifications")}"' in banner

    single = ResellerFactory.create()
    account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=single),
                   plan=PlanFactory.create(reseller=single, credit_cost=1),
                   now=NOW - dt.timedelta(days=1))
    html = _page(single).content.decode()
    assert "1 credit is needed by operations waiting for credits." in html
    assert "0 credits used, 0 credits added." in html


def test_overview_plurals_in_spanish(madrid):
    _account(madrid, created=dt.datetime(2026, 2, 15, 9, 0, tzinfo=UTC))
    client = Client()
    client.force_login(member(madrid, "viewer"))
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    with time_machine.travel(NOW, tick=False):
        html = client.get(reverse("dashboard:overview")).content.decode()
    assert "1 cuenta vence en los próximos 30 días." in html
    assert "1 crédito usado, 0 créditos añadidos." in html
    assert "Cifras por día" in html


def test_overview_queries_do_not_grow_with_days_of_movements_and_expiries(
        madrid, django_assert_max_num_queries):
    client = Client()
    client.force_login(member(madrid, "viewer"))

    def queries() -> int:
        with time_machine.travel(NOW, tick=False), \
                django_assert_max_num_queries(60) as captured:
            assert client.get(reverse("dashboard:overview")).status_code == 200
        return len(captured.captured_queries)

    _account(madrid, created=dt.datetime(2026, 2, 12, 9, 0, tzinfo=UTC))
    few = queries()
    for day in range(1, 28):
        grant(madrid, day, now=NOW - dt.timedelta(days=day))
        _account(madrid, created=dt.datetime(2026, 2, day, 9, 0, tzinfo=UTC))
    assert queries() <= few


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_charts_draw_in_the_browser_with_the_outlier_cut_and_labelled(live_server, settings):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    reseller = ResellerFactory.create(timezone="UTC")
    now = dt.datetime.now(UTC)
    grant(reseller, 462, now=now - dt.timedelta(days=3))
    for back, amount in enumerate((2, 3, 4, 5, 6, 3, 4, 5, 2, 3, 4), start=4):
        grant(reseller, amount, now=now - dt.timedelta(days=back))
    client = Client()
    client.force_login(member(reseller, "viewer"))
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-dev-shm-usage"])
        context = browser.new_context(viewport={"width": 390, "height": 900})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie,
                              "url": live_server.url}])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(live_server.url + "/")
        page.wait_for_function("typeof Chart !== 'undefined'")
        charts = page.evaluate("""() => [...document.querySelectorAll('canvas[data-chart]')]
            .map(c => { const chart = Chart.getChart(c); return {
                type: chart.config.type, max: chart.options.scales.y.max ?? null,
                bars: chart.data.datasets[0].data.length,
                plugins: chart.config.plugins.map(plugin => plugin.id)}; })""")
        browser.close()
    assert errors == []
    assert [c["type"] for c in charts] == ["bar", "bar"]
    assert [c["bars"] for c in charts] == [30, 30]
    assert 6 < charts[0]["max"] < 462 and charts[1]["max"] is None
    assert all("clippedBarValues" in c["plugins"] for c in charts)
