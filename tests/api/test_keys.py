"""Keys: ping, 401s, scopes, allow-list, revocation, rotation, expiry, last use, the command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.api.keys import hash_key
from apps.api.models import ApiKey
from apps.api.services import api_key_create, api_key_revoke, api_key_rotate
from apps.audit.models import AuditEntry
from apps.core.errors import NotFound, ValidationError

from ..conftest import SYSTEM, staff
from .conftest import assert_error, client_for, make_key

pytestmark = pytest.mark.django_db


def test_ping_names_the_reseller_key_mode_and_scopes(reseller: Reseller) -> None:
    raw = make_key(reseller, mode="test", scopes=["accounts:read", "plans:read"])
    response = client_for(raw).get("/api/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"reseller": reseller.slug, "key_name": "test key", "mode": "test",
                               "scopes": ["accounts:read", "plans:read"]}


def test_keys_look_like_bp_mode_and_only_their_hash_is_stored(reseller: Reseller) -> None:
    key, raw = api_key_create(actor=SYSTEM, reseller=reseller, name="WHMCS", mode="live",
                              scopes=["accounts:read"])
    assert raw.startswith("bp_live_") and len(raw) > 40
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.key_hash == hash_key(raw) and raw not in str(stored.__dict__)
    assert raw.startswith(stored.prefix)


def test_missing_key_is_401(db: None) -> None:
    response = client_for(None).get("/api/v1/ping")
    assert_error(response, 401, "missing_api_key")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer bp_live_nope", "Token abc", "Bearer "])
def test_bad_key_is_401(db: None, header: str) -> None:
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(client.get("/api/v1/ping"), 401)


def test_revoked_key_is_401(reseller: Reseller) -> None:
    key, raw = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="live",
                              scopes=["accounts:read"])
    api_key_revoke(actor=SYSTEM, key=key)
    assert_error(client_for(raw).get("/api/v1/ping"), 401, "api_key_revoked")


def test_expired_key_is_401(reseller: Reseller) -> None:
    key, raw = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="live",
                              scopes=["accounts:read"],
                              expires_at=timezone.now() + dt.timedelta(hours=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error(client_for(raw).get("/api/v1/ping"), 401, "api_key_expired")


def test_rotation_revokes_the_old_key_and_keeps_its_settings(reseller: Reseller) -> None:
    key, old_raw = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="test",
                                  scopes=["plans:read"], allowed_ips=["10.0.0.0/8"])
    new, new_raw = api_key_rotate(actor=SYSTEM, key=key)
    assert (new.mode, new.scopes, new.allowed_ips) == ("test", ["plans:read"], ["10.0.0.0/8"])
    assert new.rotated_from_id == key.pk and new_raw != old_raw
    assert_error(client_for(old_raw).get("/api/v1/ping"), 401, "api_key_revoked")


def test_ip_outside_the_allow_list_is_403(reseller: Reseller) -> None:
    raw = make_key(reseller, allowed_ips=["203.0.113.0/24"])
    assert_error(client_for(raw).get("/api/v1/ping"), 403, "ip_not_allowed")
    inside = client_for(raw)
    assert inside.get("/api/v1/ping", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_missing_scope_is_403(reseller: Reseller) -> None:
    raw = make_key(reseller, scopes=["plans:read"])
    assert_error(client_for(raw).get("/api/v1/accounts"), 403, "missing_scope")
    assert_error(client_for(raw).get("/api/v1/credits/balance"), 403, "missing_scope")


def test_last_use_is_recorded(reseller: Reseller) -> None:
    key, raw = api_key_create(actor=SYSTEM, reseller=reseller, name="k", mode="live",
                              scopes=["plans:read"])
    client_for(raw).get("/api/v1/ping", REMOTE_ADDR="198.51.100.7")
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_ip == "198.51.100.7"


@pytest.mark.parametrize(("field", "value", "code"), [
    ("scopes", ["accounts:everything"], "invalid_scope"),
    ("scopes", [], "required"),
    ("mode", "prod", "invalid_mode"),
    ("allowed_ips", ["not-an-ip"], "invalid_ip"),
])
def test_bad_key_settings_are_refused(reseller: Reseller, field: str, value: object,
                                      code: str) -> None:
    args = {"name": "k", "mode": "live", "scopes": ["plans:read"], field: value}
    with pytest.raises(ValidationError) as error:
        api_key_create(actor=SYSTEM, reseller=reseller, **args)  # type: ignore[arg-type]
    assert error.value.code == code
    assert not ApiKey.objects.exists()


def test_only_owner_or_admin_staff_create_keys(reseller: Reseller,
                                                other_reseller: Reseller) -> None:
    from apps.core.errors import PermissionDenied

    api_key_create(actor=staff(reseller, "admin"), reseller=reseller, name="k", mode="live",
                   scopes=["plans:read"])
    with pytest.raises(PermissionDenied):
        api_key_create(actor=staff(reseller, "billing"), reseller=reseller, name="k",
                       mode="live", scopes=["plans:read"])
    with pytest.raises(NotFound):
        api_key_create(actor=staff(other_reseller, "owner"), reseller=reseller, name="k",
                       mode="live", scopes=["plans:read"])
    assert AuditEntry.objects.filter(action="api_key.create").count() == 1


def test_create_api_key_command_prints_the_key_once(reseller: Reseller) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--reseller", reseller.slug, "--mode", "test", "--scopes",
                 "accounts:read,plans:read", "--name", "WHMCS staging", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("bp_test_")
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    assert key.name == "WHMCS staging" and key.scopes == ["accounts:read", "plans:read"]
    assert client_for(raw).get("/api/v1/ping").json()["mode"] == "test"


def test_create_api_key_command_refuses_unknown_scope(reseller: Reseller) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Unknown scopes"):
        call_command("create_api_key", "--reseller", reseller.slug, "--mode", "live",
                     "--scopes", "root", "--name", "x", stdout=io.StringIO(),
                     stderr=io.StringIO())


def test_rate_limit_gives_429_with_retry_after(reseller: Reseller, settings: object) -> None:
    settings.API_RATE_LIMIT = "3/m"  # type: ignore[attr-defined]
    raw = make_key(reseller)
    client = client_for(raw)
    for _ in range(3):
        assert client.get("/api/v1/ping").status_code == 200
    response = client.get("/api/v1/ping")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    # The window's counter expires by itself (set on its first hit, in the same script).
    redis = cache._cache.get_client()  # type: ignore[attr-defined]
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    counters = redis.keys(f"*api-rate:{key.pk}:*")
    assert counters
    assert all(0 < redis.ttl(counter) <= 120 for counter in counters)


def test_the_prepared_key_lookup_reads_what_the_orm_reads(reseller: Reseller) -> None:
    from django.forms.models import model_to_dict

    from apps.api.authentication import _key_by_hash

    key, raw = api_key_create(actor=SYSTEM, reseller=reseller, name="WHMCS", mode="live",
                              scopes=["accounts:read", "plans:read"], allowed_ips=["10.0.0.0/8"],
                              expires_at=timezone.now() + dt.timedelta(days=3))
    found = _key_by_hash(hash_key(raw))
    orm = ApiKey.objects.select_related("reseller").get(pk=key.pk)
    assert found is not None
    fields = [f.attname for f in ApiKey._meta.concrete_fields]
    assert {n: getattr(found, n) for n in fields} == {n: getattr(orm, n) for n in fields}
    assert model_to_dict(found.reseller) == model_to_dict(orm.reseller)
    assert _key_by_hash(hash_key(raw + "x")) is None
