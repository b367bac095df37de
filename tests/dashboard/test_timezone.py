"""The dashboard shows every date and time in the reseller's time zone, and says which."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.api.models import ApiKey
from apps.subscriptions.services import account_create
from tests.conftest import SYSTEM, grant
from tests.factories import PlanFactory, ResellerFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
# 15:34 UTC on a winter day is 16:34 in Madrid (CET, +01:00); a month later, in
# summer time (CEST, +02:00), the expiry at 15:34 UTC is 17:34 there.
CREATED = dt.datetime(2026, 3, 10, 15, 34, tzinfo=dt.UTC)


def reseller_in(zone: str):
    reseller = ResellerFactory.create(name="Madrid", timezone=zone)
    plan = PlanFactory.create(reseller=reseller, name="Monthly")
    subscriber = SubscriberFactory.create(reseller=reseller, name="Ana")
    grant(reseller, 5, now=CREATED)
    account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=CREATED)
    return reseller, subscriber, account


def subscriber_page(client, subscriber) -> str:
    with time_machine.travel(CREATED, tick=False):
        response = client.get(reverse("dashboard:subscriber", args=[subscriber.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_account_created_at_15_34_utc_shows_16_34_in_madrid_and_the_footer_names_the_zone(
        signed_in):
    reseller, subscriber, _ = reseller_in("Europe/Madrid")
    page = subscriber_page(signed_in(reseller, "owner"), subscriber)
    assert "2026-03-10 16:34" in page
    assert "2026-03-10 15:34" not in page
    assert 'data-testid="expires">2026-04-10 17:34<' in page
    assert "Times in Europe/Madrid (CET)" in page


def test_a_utc_reseller_sees_utc_and_the_footer_says_so(signed_in):
    reseller, subscriber, _ = reseller_in("UTC")
    page = subscriber_page(signed_in(reseller, "owner"), subscriber)
    assert "2026-03-10 15:34" in page
    assert "Times in UTC (UTC)" in page


def test_a_zone_the_system_does_not_know_falls_back_to_utc(signed_in):
    reseller, subscriber, _ = reseller_in("Mars/Olympus_Mons")
    page = subscriber_page(signed_in(reseller, "owner"), subscriber)
    assert "2026-03-10 15:34" in page
    assert "Times in UTC" in page


def test_the_footer_is_translated_and_summer_time_is_named(signed_in):
    reseller, _, _ = reseller_in("Europe/Madrid")
    client = signed_in(reseller, "owner")
    client.cookies["django_language"] = "es"
    with time_machine.travel(dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        page = client.get(reverse("dashboard:overview")).content.decode()
    assert "Horas en Europe/Madrid (CEST)" in page


def test_the_zone_is_active_only_for_the_request(signed_in):
    reseller, subscriber, _ = reseller_in("Europe/Madrid")
    subscriber_page(signed_in(reseller, "owner"), subscriber)
    assert timezone.get_current_timezone_name() == "UTC"


def test_pages_outside_the_dashboard_have_no_zone_footer(client):
    page = client.get(reverse("dashboard:signin")).content.decode()
    assert 'id="time-zone"' not in page


def test_the_ledger_date_filter_means_the_resellers_day(signed_in):
    reseller = ResellerFactory.create(timezone="Europe/Madrid")
    # 23:30 UTC on the 9th is already 00:30 on the 10th in Madrid.
    grant(reseller, 7, now=dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC))
    client = signed_in(reseller, "owner")
    url = reverse("dashboard:billing")
    on_the_10th = client.get(url, {"date_from": "2026-03-10", "date_to": "2026-03-10"})
    on_the_9th = client.get(url, {"date_from": "2026-03-09", "date_to": "2026-03-09"})
    assert "2026-03-10 00:30" in on_the_10th.content.decode()
    assert 'data-testid="ledger-row"' not in on_the_9th.content.decode()


def test_the_ledger_csv_gives_local_times_with_their_offset(signed_in):
    reseller, _, _ = reseller_in("Europe/Madrid")
    response = signed_in(reseller, "owner").get(reverse("dashboard:ledger_csv"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["created_at"] for row in rows} == {"2026-03-10T16:34:00+01:00"}
    assert dt.datetime.fromisoformat(rows[0]["created_at"]) == CREATED


def test_the_subscribers_csv_gives_local_expiry_with_its_offset(signed_in):
    reseller, _, account = reseller_in("Europe/Madrid")
    response = signed_in(reseller, "owner").get(reverse("dashboard:subscribers_export"))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["expires_at"] for row in rows] == ["2026-04-10T17:34:00+02:00"]
    assert dt.datetime.fromisoformat(rows[0]["expires_at"]) == account.expires_at


def test_an_api_key_expiry_date_is_midnight_in_the_resellers_zone(signed_in):
    reseller = ResellerFactory.create(timezone="Europe/Madrid")
    client = signed_in(reseller, "owner")
    client.post(reverse("dashboard:api_key_create"), {
        "name": "whmcs", "mode": "live", "scopes": ["accounts:read"], "expires_at": "2026-12-31"})
    key = ApiKey.objects.get(reseller=reseller)
    assert key.expires_at == dt.datetime(2026, 12, 31, tzinfo=MADRID)
