"""Every dashboard page in Debian's Chromium, at 1366 and 390 pixels, in English and Spanish.

On `seed_demo`'s data, signed in as the demo owner, each page must load with no console
error, no horizontal scroll on a phone, no amount shown in minor units ("900 EUR"), and,
in Spanish, no English message left untranslated. A failure leaves a screenshot under
test-results/.
"""

from __future__ import annotations

import functools
import gettext
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import URLPattern, reverse
from playwright.sync_api import ConsoleMessage
from playwright.sync_api import Error as PlaywrightError

from apps.accounts.models import Reseller
from apps.core.currencies import MINOR_UNITS
from apps.dashboard import urls as dashboard_urls
from apps.notifications.models import OutboxMessage
from apps.subscriptions.models import Plan, ServiceAccount

from .test_e2e_browser import ARGS, CHROMIUM, RESULTS

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
LANGUAGES = ("en", "es")

# The pages the walk opens. Each name maps to a function of the demo reseller giving the URL's
# arguments; every other dashboard URL name is in SKIPPED with the reason it is not a page.
Args = Callable[[Reseller], dict[str, int]]


def _subscriber(r: Reseller) -> dict[str, int]:
    account = ServiceAccount.objects.filter(subscriber__reseller=r).order_by("pk").first()
    assert account is not None
    return {"subscriber_id": account.subscriber_id}


def _plan(r: Reseller) -> dict[str, int]:
    plan = Plan.objects.filter(reseller=r).order_by("pk").first()
    assert plan is not None
    return {"plan_id": plan.pk}


def _account(r: Reseller) -> dict[str, int]:
    account = ServiceAccount.objects.filter(subscriber__reseller=r).order_by("pk").first()
    assert account is not None
    return {"account_id": account.pk}


def _outbox_row(r: Reseller) -> dict[str, int]:
    row = OutboxMessage.objects.filter(reseller=r).order_by("pk").first()
    assert row is not None
    return {"message_id": row.pk}


def _none(r: Reseller) -> dict[str, int]:
    return {}


PAGES: dict[str, Args] = {
    "overview": _none,
    "billing": _none,
    "payments": _none,
    "subscribers": _none,
    "expiring": _none,
    "subscriber": _subscriber,
    "account_new": _none,
    "queue": _none,
    "plans": _none,
    "plan_new": _none,
    "plan_edit": _plan,
    "audit": _none,
    "twofactor_setup": _none,
    "switch": _none,
    "settings": _none,
    "email_backlog": _none,
    "outbox_message": _outbox_row,
}
SETTINGS_TABS = ("settings_reseller", "settings_subscription", "settings_notifications",
                 "settings_template", "settings_payments", "settings_api", "settings_staff",
                 "settings_security")

SKIPPED = {
    # Sign-in and password reset: pages of a signed-out visitor.
    "signin", "signin_verify", "signout", "password_reset", "password_reset_done",
    "password_reset_confirm", "password_reset_complete",
    # Downloads, not pages.
    "ledger_csv", "subscribers_export",
    # htmx partials, fetched by the pages above.
    "welcome_status", "settings_template_load", "account_subscriber_search",
    # The reseller's logo: an image.
    "reseller_logo",
}

# Messages whose Spanish is the same word, or names that stay English on purpose.
SAME_IN_SPANISH = {"Email", "API", "Plan", "Total", "Webhook", "Webhooks", "OK", "SMTP",
                   "WhatsApp", "Chat", "Prefix", "URL", "Stripe", "CSV", "ID"}
AMOUNT_CODES = "|".join(sorted(MINOR_UNITS))
MINOR_UNITS_SHOWN = re.compile(rf"\b(?:(?:{AMOUNT_CODES})\s*\d+(?![.,]\d)|\d+\s*(?:{AMOUNT_CODES}))\b")


def _dashboard_names() -> set[str]:
    return {p.name for p in dashboard_urls.urlpatterns
            if isinstance(p, URLPattern) and p.name}


def _walked() -> dict[str, Args]:
    names = _dashboard_names()
    return {**PAGES, **{tab: _none for tab in SETTINGS_TABS if tab in names}}


def _english_messages() -> dict[str, str]:
    """Every message id of the Spanish catalogue with its translation (plain ones only)."""
    mo = Path(django_settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    messages = {}
    for key, value in catalogue.items():
        if not isinstance(key, str) or not key or "%" in key or "{" in key or "\x04" in key:
            continue
        messages[key] = value
    return messages


def test_every_dashboard_page_is_walked_or_has_a_reason_not_to_be(world, signed_in) -> None:
    """A new page nobody added to the walk fails here: each unlisted URL must answer GET with 405."""
    client = signed_in(world.reseller, "owner")
    names = _dashboard_names()
    walked = set(_walked())
    assert walked - names == set(), "the walk names pages that no longer exist"
    unlisted = []
    for pattern in dashboard_urls.urlpatterns:
        if not isinstance(pattern, URLPattern) or pattern.name in walked | SKIPPED | {None}:
            continue
        kwargs = {key: 1 for key in pattern.pattern.converters}
        response = client.get(reverse(f"dashboard:{pattern.name}", kwargs=kwargs))
        if response.status_code != 405:
            unlisted.append(f"{pattern.name} ({response.status_code})")
    assert unlisted == [], f"add these dashboard pages to the walk or to SKIPPED: {unlisted}"


def _console_error(seen: list[str], message: ConsoleMessage) -> None:
    if message.type == "error":
        seen.append(message.text)


def _page_error(seen: list[str], error: PlaywrightError) -> None:
    seen.append(str(error))


def _untranslated(text: str, messages: dict[str, str]) -> list[str]:
    lines = {line.strip() for line in text.splitlines() if line.strip()}
    found = []
    for msgid, msgstr in messages.items():
        if msgid in SAME_IN_SPANISH or msgid == msgstr:
            continue
        words = len(msgid.split())
        if (words >= 3 and msgid in text) or msgid in lines:
            found.append(msgid)
    return sorted(found)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_every_page_in_both_languages_at_desktop_and_phone_width(live_server, settings) -> None:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    call_command("seed_demo", verbosity=0)
    reseller = Reseller.objects.get(slug="demo")
    urls = {name: reverse(f"dashboard:{name}", kwargs=args(reseller))
            for name, args in _walked().items()}
    messages = _english_messages()
    problems: list[str] = []
    errors: list[str] = []
    RESULTS.mkdir(exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for language in LANGUAGES:
            context = browser.new_context(locale="es-ES" if language == "es" else "en-GB",
                                          extra_http_headers={"Accept-Language": language})
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("console", functools.partial(_console_error, errors))
            page.on("pageerror", functools.partial(_page_error, errors))
            page.goto(live_server.url + reverse("dashboard:signin"))
            page.locator("input[name=email], input[name=username]").first.fill("owner@demo.example")
            page.locator("input[type=password]").first.fill("demo-panel-2026")
            page.locator("form button[type=submit]").first.click()
            page.wait_for_url(re.compile(r".*/(switch/)?$"))
            if "/switch/" in page.url:
                page.get_by_text("Demo Streaming Reseller").first.click()
            for viewport, (width, height) in VIEWPORTS.items():
                page.set_viewport_size({"width": width, "height": height})
                for name, path in urls.items():
                    errors.clear()
                    where = f"{language} {viewport} {name}"
                    try:
                        response = page.goto(live_server.url + path)
                    except PlaywrightError as error:
                        problems.append(f"{where}: {error.message.splitlines()[0]}")
                        continue
                    if response is None or response.status != 200:
                        problems.append(f"{where}: HTTP {response.status if response else '-'}")
                        continue
                    page.wait_for_load_state("networkidle")
                    lang = page.locator("html").get_attribute("lang")
                    if lang != language:
                        problems.append(f"{where}: <html lang={lang}>")
                    if errors:
                        problems.append(f"{where}: console errors {errors}")
                    if viewport == "phone":
                        scroll = page.evaluate("document.documentElement.scrollWidth")
                        if scroll > width:
                            problems.append(f"{where}: {scroll} px wide at {width} px")
                    text = page.locator("body").inner_text()
                    shown = sorted(set(MINOR_UNITS_SHOWN.findall(text)))
                    if shown:
                        problems.append(f"{where}: amounts in minor units {shown}")
                    if language == "es":
                        missing = _untranslated(text, messages)
                        if missing:
                            problems.append(f"{where}: untranslated {missing}")
                    if problems and problems[-1].startswith(where):
                        page.screenshot(path=str(RESULTS / f"walk-{language}-{viewport}-{name}.png"),
                                        full_page=True)
            context.close()
        browser.close()
    assert problems == [], "\n".join(problems)
