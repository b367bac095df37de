"""The SQLite smoke suite: `make run`'s embedded defaults (billing_panel.settings.test_sqlite).

tests/conftest.py (reseller, plan, subscriber, grant, SYSTEM) works on SQLite
as it is and applies here; the few helpers below are what the API and
dashboard suites keep in their own conftests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from apps.accounts.models import Reseller, User
from apps.api.models import Scope
from apps.api.services import api_key_create
from tests.conftest import SYSTEM
from tests.factories import MembershipFactory

PASSWORD = "correct-horse-battery"  # UserFactory's


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    # Here rather than an --ignore in the Makefile: any run on PostgreSQL (`make test`,
    # a bare `pytest`, an editor's) leaves this suite out, and its tests can assume SQLite.
    if connection.vendor != "sqlite":
        return True
    return None


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Each test starts with an empty locmem cache.

    The cache lives as long as the process, and SQLite hands a rolled-back row's
    id out again, so the next test's API key would find this one's rate counter.
    """
    cache.clear()
    yield
    cache.clear()


# ---------------------------------------------------------------- the API


def make_key(reseller: Reseller, *, mode: str = "live", scopes: list[str] | None = None) -> str:
    _, raw = api_key_create(actor=SYSTEM, reseller=reseller, name=f"{mode} key", mode=mode,
                            scopes=list(Scope.values) if scopes is None else scopes)
    return raw


def api_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(reseller: Reseller) -> APIClient:
    return api_client(make_key(reseller))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body


# ---------------------------------------------------------------- the dashboard


def totp_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def sign_in_with_2fa(reseller: Reseller, role: str = "owner") -> Client:
    """A staff member with a confirmed authenticator, signed in through the two forms."""
    user: User = MembershipFactory.create(reseller=reseller, role=role).user
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    response = client.post(reverse("dashboard:signin"),
                           {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard:signin_verify"))
    response = client.post(reverse("dashboard:signin_verify"), {"token": totp_code(device)})
    assert response.status_code == 302, response.content[:2000]
    return client


@pytest.fixture
def owner(reseller: Reseller) -> Client:
    return sign_in_with_2fa(reseller)
