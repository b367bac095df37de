"""The settings tabs in Debian's Chromium: fields that follow the delivery chosen, the test
email's answer beside its button, the template selector. A failure leaves a screenshot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from apps.notifications.rendering import default_template_sources
from tests.factories import MembershipFactory, ResellerFactory
from tests.mailserver import running_smtp_server
from tests.notifications.helpers import use_smtp

from .test_e2e_browser import ARGS, CHROMIUM, RESULTS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def test_settings_tabs_in_the_browser(live_server, settings):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    reseller = ResellerFactory.create(name="Streamline")
    user = MembershipFactory.create(reseller=reseller, role="owner").user
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    with running_smtp_server() as (catcher, port), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session,
                              "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(live_server.url + "/settings/")
            expect(page.get_by_role("heading", name="Reseller")).to_be_visible()
            page.get_by_role("link", name="Notifications").first.click()
            delivery = page.get_by_label("Delivery")
            expect(delivery).to_have_value("none")
            expect(page.locator("#id_smtp_host")).to_be_hidden()
            expect(page.locator("#id_esp_api_key")).to_be_hidden()
            delivery.select_option("smtp")
            expect(page.locator("#id_smtp_host")).to_be_visible()
            expect(page.locator("#id_esp_api_key")).to_be_hidden()
            delivery.select_option("esp")
            expect(page.locator("#id_smtp_host")).to_be_hidden()
            expect(page.locator("#id_esp_api_key")).to_be_visible()

            use_smtp(reseller, port)
            page.reload()
            expect(page.locator("#id_smtp_host")).to_be_visible()
            page.locator("#id_to").fill("me@example.com")
            page.get_by_role("button", name="Send a test email").click()
            result = page.locator("[data-testid=test-email-result]")
            expect(result).to_contain_text("250 Message accepted for delivery")
            expect(result).to_be_in_viewport()
            assert catcher.received[-1].recipients == ["me@example.com"]
            result.get_by_role("link", name="See it in the outbox").click()
            expect(page.locator("[data-testid=outbox-status]")).to_have_attribute(
                "data-status", "sent")

            page.get_by_role("link", name="Email templates").click()
            page.get_by_label("Email to edit").select_option("renewal_reminder")
            expect(page.locator("#id_subject")).to_have_value(
                default_template_sources("renewal_reminder")[0].strip())
            expect(page.locator("[data-testid=preview-text]")).to_contain_text("Streamline")
            # The language beside it loads that language's email, the event kept.
            page.get_by_label("Written in").select_option("es")
            expect(page.locator("#id_subject")).to_have_value(
                default_template_sources("renewal_reminder", "es")[0].strip())
            expect(page.locator("#id_event")).to_have_value("renewal_reminder")
            assert errors == []
        except Exception:
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "settings-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
