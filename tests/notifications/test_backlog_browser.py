"""In Debian's Chromium: the settings page shows what waits, asks before it sends the recent
ones, and says what it did beside the buttons (htmx), without leaving the page."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.urls import reverse

from apps.notifications.models import OutboxMessage
from apps.notifications.services import notification_settings_update
from apps.subscriptions.services import account_create
from tests.conftest import SYSTEM, grant
from tests.dashboard.test_e2e_browser import ARGS, CHROMIUM, RESULTS
from tests.factories import (
    MembershipFactory,
    PlanFactory,
    ResellerFactory,
    SubscriberFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def test_the_backlog_in_the_settings_page_sends_the_recent_ones_after_asking(
    live_server, settings
):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.NOTIFICATIONS_DISPATCH = False
    reseller = ResellerFactory.create(name="Streamline")
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    now = dt.datetime.now(dt.UTC)
    for days in (30, 20, 2):
        grant(reseller, 1, now=now - dt.timedelta(days=days))
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=plan, now=now - dt.timedelta(days=days))
    notification_settings_update(actor=SYSTEM, reseller=reseller, delivery="panel")
    user = UserFactory.create(email="owner@streamline.example")
    MembershipFactory.create(user=user, reseller=reseller, role="owner")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(15_000)
        # Every failed request but the favicon (another part of the issue adds it).
        errors: list[str] = []
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        try:
            page.goto(live_server.url + "/")
            page.get_by_label("Email").fill(user.email)
            page.get_by_label("Password").fill("correct-horse-battery")
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#email-warning")).to_contain_text("3 emails written before")
            page.goto(live_server.url + reverse("dashboard:settings_notifications"))
            backlog = page.locator("#email-backlog")
            expect(backlog.locator("[data-testid=backlog-kind]")).to_have_count(1)
            expect(backlog).to_contain_text("3 of them are welcome emails with a password.")
            page.get_by_label("Send only those written in the last (days)").fill("7")
            page.get_by_role("button", name="Send recent").click()
            expect(backlog.locator("[data-testid=backlog-confirm]")).to_contain_text(
                "Send 1 email written in the last 7 days now?")
            page.get_by_role("button", name="Yes, send them").click()
            expect(backlog.locator("[data-testid=backlog-result]")).to_contain_text(
                "1 email is on its way. 2 emails are still waiting.")
            assert errors == []
        except Exception:
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "backlog-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    assert OutboxMessage.objects.filter(status="queued").count() == 1
    assert OutboxMessage.objects.filter(status="not_sent_no_email_backend").count() == 2
