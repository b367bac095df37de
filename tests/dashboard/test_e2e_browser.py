"""End to end in Debian's Chromium: what a reseller does on a normal day.

Sign in with a TOTP code, create an account, see the credits go down, move
time and find it under "expiring soon", add a note and a support interaction,
renew it, suspend and unsuspend it, switch to Spanish. A failure leaves a
screenshot under test-results/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.subscriptions.models import ServiceAccount
from tests.conftest import grant
from tests.factories import MembershipFactory, PlanFactory, ResellerFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def test_a_resellers_day_in_the_browser(live_server, settings):
    # The sync API runs an event loop in this thread; the ORM calls below are plain sync code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect, sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SESSION_COOKIE_AGE = 90 * 24 * 3600
    reseller = ResellerFactory.create(name="Streamline")
    PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    grant(reseller, 20)
    user = UserFactory.create(email="owner@streamline.example")
    MembershipFactory.create(user=user, reseller=reseller, role="owner")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(live_server.url + "/")
            page.get_by_label("Email").fill(user.email)
            page.get_by_label("Password").fill("correct-horse-battery")
            page.get_by_role("button", name="Sign in").click()
            code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
            page.get_by_label(re.compile("authenticator")).fill(f"{code:06d}")
            page.get_by_role("button", name="Verify").click()
            expect(page.get_by_role("heading", name="Overview")).to_be_visible()
            expect(page.locator("#balance")).to_have_text("20")

            page.get_by_role("link", name="New account").click()
            page.get_by_label("New subscriber's name").fill("Dana Test")
            page.get_by_label("New subscriber's email").fill("dana@example.com")
            page.get_by_label("Plan").select_option(label="Monthly · 1 month · 1 credit")
            page.get_by_label("Months").fill("1")
            page.get_by_role("button", name="Check the cost").click()
            expect(page.get_by_text("This account needs 1 credit (Monthly)")).to_be_visible()
            page.get_by_role("button", name="Confirm and create").click()
            expect(page.get_by_role("heading", name="Account created")).to_be_visible()
            expect(page.locator("[data-testid=password]")).not_to_be_empty()

            page.get_by_role("link", name="Billing").click()
            expect(page.locator("#balance")).to_have_text("19")

            account = ServiceAccount.objects.get(subscriber__name="Dana Test")
            assert account.expires_at is not None
            with time_machine.travel(account.expires_at - dt.timedelta(days=4)):
                page.get_by_role("link", name="Expiring soon").click()
                row = page.get_by_role("row").filter(has_text="Dana Test")
                expect(row).to_be_visible()
                row.get_by_role("link", name="Dana Test").click()

                page.locator("#id_body").fill("Asked for a yearly plan")
                page.get_by_role("button", name="Add note").click()
                expect(page.locator(".note p").first).to_have_text("Asked for a yearly plan")

                page.get_by_text("Record an interaction").click()
                page.get_by_label("Channel").select_option("phone")
                page.get_by_label("Subject").fill("Picture freezes")
                page.get_by_role("button", name="Add interaction").click()
                expect(page.locator("#interactions strong").first).to_have_text("Picture freezes")

                page.get_by_role("button", name="Show credentials").click()
                expect(page.locator(".credentials")).to_contain_text(account.username)

                page.get_by_role("button", name="Renew").click()
                expect(page.get_by_text("Renewed: 1 credit used.")).to_be_visible()
                status = page.locator(f"#account-{account.pk} [data-testid=status]")
                page.get_by_role("button", name="Suspend").click()
                expect(status).to_have_text("Suspended")
                page.get_by_role("button", name="Unsuspend").click()
                expect(status).to_have_text("Active")

                page.get_by_label("Language").select_option("es")
                expect(page.get_by_role("link", name="Resumen")).to_be_visible()
                expect(page.get_by_role("heading", name="Notas")).to_be_visible()
        except Exception:
            RESULTS.mkdir(exist_ok=True)
            page.screenshot(path=str(RESULTS / "e2e-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    account.refresh_from_db()
    assert account.status == "active"
