"""Counts read right in both languages: "1 credit", "12 credits", "1 crédito"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import account_create
from tests.conftest import SYSTEM, grant
from tests.dashboard.conftest import member
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

ROOT = Path(__file__).resolve().parents[1]
NOUNS = r"(credits?|accounts?|emails?|days?|months?|renewals?|subscribers?|rows?|keys?)"


@pytest.fixture
def owner_client(client):
    def make(reseller, language: str = "en"):
        client.force_login(member(reseller, "owner"))
        client.cookies["django_language"] = language
        return client

    return make


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def shop(db):
    reseller = ResellerFactory.create()
    monthly = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    grant(reseller, 20)
    return reseller, monthly


@pytest.mark.parametrize(("language", "months", "expected"), [
    ("en", 1, "This account needs 1 credit (Monthly)."),
    ("en", 12, "This account needs 12 credits (Monthly)."),
    ("es", 1, "Esta cuenta necesita 1 crédito (Monthly)."),
    ("es", 12, "Esta cuenta necesita 12 créditos (Monthly)."),
])
def test_the_new_account_preview_counts_credits(shop, owner_client, language, months, expected):
    reseller, monthly = shop
    page = owner_client(reseller, language).post(reverse("dashboard:account_new"), {
        "name": "Ana", "plan": monthly.pk, "months": months, "renewal_source": "complimentary"})
    assert expected in text(page)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "1 credit used."), ("es", "se ha usado 1 crédito."),
])
def test_the_account_created_page_counts_credits(shop, owner_client, language, expected):
    reseller, monthly = shop
    page = owner_client(reseller, language).post(reverse("dashboard:account_new"), {
        "name": "Ana", "plan": monthly.pk, "months": 1, "renewal_source": "complimentary",
        "confirm": "1"})
    assert ServiceAccount.objects.filter(reseller=reseller).count() == 1
    assert expected in text(page)


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "Renewed: 1 credit used."), ("es", "Renovada: se ha usado 1 crédito."),
])
def test_a_renewal_says_one_credit(shop, owner_client, language, expected):
    reseller, monthly = shop
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=monthly)
    page = owner_client(reseller, language).post(
        reverse("dashboard:renew", args=[account.pk]), {"months": 1}, follow=True)
    assert expected in text(page)


def test_the_expiry_windows_are_days_in_spanish(shop, owner_client):
    reseller, _ = shop
    page = text(owner_client(reseller, "es").get(reverse("dashboard:expiring")))
    assert "7 días" in page and "7 days" not in page


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "1 credit is needed by operations waiting for credits."),
    ("es", "Las operaciones que esperan créditos necesitan 1 crédito."),
])
def test_the_overview_counts_one_waiting_credit(owner_client, db, language, expected):
    reseller = ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, duration_months=1)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan)
    assert account.status == "pending"
    assert expected in text(owner_client(reseller, language).get(reverse("dashboard:overview")))


# Every count message on the dashboard, and the form each number takes in Spanish.
PLURALS = [
    ("This account needs %(cost)s credit (%(plan)s).",
     "This account needs %(cost)s credits (%(plan)s)."),
    ("Active until %(d)s; %(cost)s credit used.", "Active until %(d)s; %(cost)s credits used."),
    ("%(n)s credit is needed by operations waiting for credits.",
     "%(n)s credits are needed by operations waiting for credits."),
    ("%(d)s day", "%(d)s days"),
    ("More than %(n)s account matches.", "More than %(n)s accounts match."),
    ("Renewed: %(credits)d credit used.", "Renewed: %(credits)d credits used."),
    ("%(n)d account extended.", "%(n)d accounts extended."),
    ("%(n)d renewal waits for credits and completes when they arrive.",
     "%(n)d renewals wait for credits and complete when they arrive."),
]


@pytest.mark.parametrize(("singular", "plural"), PLURALS)
def test_each_count_message_has_spanish_singular_and_plural(singular, plural):
    with translation.override("es"):
        one, two, million = (ngettext(singular, plural, n) for n in (1, 2, 1_000_000))
    assert one not in (singular, plural) and two not in (singular, plural)
    assert one != two and million == two


def test_no_message_counts_with_a_bare_number_or_an_s_in_brackets():
    """A number before a plural noun in a template is a `blocktranslate count`; a Python
    message never says "account(s)"."""
    bare = re.compile(r"\{% blocktranslate(?![^%]*\bcount\b)[^%]*%\}(?:(?!\{% end).)*?"
                      r"\{\{ *\w+ *\}\} " + NOUNS + r"\b", re.S)
    found = [f"{path.relative_to(ROOT)}: {match.group(0)[:80]}"
             for path in (ROOT / "templates").rglob("*.html")
             for match in bare.finditer(path.read_text())]
    brackets = [f"{path.relative_to(ROOT)}: {line.strip()[:80]}"
                for path in (ROOT / "apps").rglob("*.py") if "migrations" not in path.parts
                for line in path.read_text().splitlines()
                if re.search(r"\w(?<!http)\(s\)", line) and not line.lstrip().startswith("#")]
    assert not found and not brackets, found + brackets


def test_the_english_default_emails_say_one_credit():
    pending = (ROOT / "templates/notifications/pending_credits.txt").read_text()
    floor = (ROOT / "templates/notifications/credit_floor.txt").read_text()
    assert "{{ credits_needed }} credit{{ credits_needed|pluralize }}" in pending
    assert "{{ needed_7_days }} credit{{ needed_7_days|pluralize }}" in floor
