"""In Debian's Chromium at a phone's width (390 px): the navigation collapses into a Menu
button that keeps every item, no page of the queue, subscriber or new-account scrolls
sideways, and the copy button beside revealed credentials copies and says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import grant
from tests.factories import MembershipFactory, PlanFactory, ResellerFactory, SubscriberFactory

from .test_e2e_browser import ARGS, CHROMIUM, RESULTS
from .test_queue_page import add_expiring, build_queue

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def test_at_390_px_the_menu_keeps_every_item_and_copy_says_copied(live_server, settings):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    queue = build_queue()
    add_expiring(queue, 22)
    reseller = queue.reseller
    PlanFactory.create(reseller=reseller, name="Quarterly with a long name", duration_months=3)
    grant(reseller, 5)
    SubscriberFactory.create(reseller=reseller, name="Valentina Extremadamente-Larga",
                             email="valentina.extremadamente.larga@example.com")
    # A second reseller, so that "Switch reseller" is in the header too.
    user = MembershipFactory.create(reseller=reseller, role="owner").user
    MembershipFactory.create(reseller=ResellerFactory.create(), user=user, role="owner")
    client = Client()
    client.force_login(user)
    session = client.session
    session["dashboard_reseller_id"] = reseller.pk
    session.save()
    assert session.session_key is not None
    subscriber_id = queue.grace.subscriber_id

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844})
        context.grant_permissions(["clipboard-read", "clipboard-write"],
                                  origin=live_server.url)
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME,
                              "value": session.session_key, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(live_server.url + "/")
            menu = page.get_by_role("button", name="Menu")
            expect(menu).to_be_visible()
            expect(menu).to_have_attribute("aria-expanded", "false")
            header = page.locator("header.top")
            two_factor = header.get_by_role("link", name="Two-factor")
            expect(two_factor).to_be_hidden()
            menu.click()
            expect(menu).to_have_attribute("aria-expanded", "true")
            for name in ("Overview", "Billing", "Subscribers", "Expiring soon", "Renewal queue",
                         "New account", "Plans", "Settings", "Audit log", "Switch reseller",
                         "Two-factor"):
                expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
            expect(header.get_by_role("button", name="Sign out")).to_be_visible()
            expect(header.get_by_label("Language")).to_be_visible()
            page.keyboard.press("Escape")
            expect(two_factor).to_be_hidden()

            for path in ("/queue/", f"/subscribers/{subscriber_id}/", "/accounts/new/"):
                page.goto(live_server.url + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
                page.get_by_role("button", name="Menu").click()
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, "menu open", width)

            # The queue's row menu opens on click and fits.
            page.goto(live_server.url + "/queue/")
            row = page.locator(f"#queue-row-{queue.small_waiting.pk}")
            expect(row.get_by_role("button", name="Activate now")).to_be_visible()
            row.locator("summary").click()
            expect(row.get_by_role("button", name="Save note")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390

            # New account: search, pick, and the hidden id is filled.
            page.goto(live_server.url + "/accounts/new/")
            page.get_by_label("Search by name, email or external id").fill("valentina")
            choice = page.get_by_role("button", name="Valentina Extremadamente-Larga")
            choice.click()
            expect(page.locator("[data-chosen-label]")).to_contain_text("Valentina")
            assert page.locator("input[name=subscriber]").input_value() != ""

            page.goto(live_server.url + f"/subscribers/{subscriber_id}/")
            page.get_by_role("button", name="Show credentials").click()
            copy = page.get_by_role("button", name="Copy the password")
            copy.click()
            expect(copy).to_have_text("Copied")
            password = page.locator("[data-testid=password]").inner_text()
            assert page.evaluate("navigator.clipboard.readText()") == password
            expect(copy).to_have_text("Copy", timeout=5_000)
        except Exception:
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "e2e-pages-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
