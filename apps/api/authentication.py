"""Bearer API keys, scopes, the IP allow-list and the per-key rate limit."""

from __future__ import annotations

import math
import time
import weakref
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.accounts.models import Reseller
from apps.core.actors import Actor
from apps.core.db import execute_prepared, instances, select_list

from . import keys
from .models import ApiKey
from .services import api_key_touch


class KeyRefused(exceptions.AuthenticationFailed):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code_override = code


def client_ip(request: Any) -> str | None:
    # Behind a proxy, the proxy sets REMOTE_ADDR correctly (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or None


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer bp_live_...`; request.auth is the ApiKey."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw.startswith(("bp_live_", "bp_test_")):
            raise KeyRefused("Send the key as `Authorization: Bearer bp_live_...`.",
                             "invalid_api_key")
        key = _key_by_hash(keys.hash_key(raw))
        now = timezone.now()
        if key is None:
            raise KeyRefused("This API key is not valid.", "invalid_api_key")
        if key.revoked_at is not None:
            raise KeyRefused("This API key was revoked.", "api_key_revoked")
        if key.expires_at is not None and key.expires_at <= now:
            raise KeyRefused("This API key has expired.", "api_key_expired")
        if not key.reseller.is_active:
            raise KeyRefused("This reseller is not active.", "reseller_inactive")
        ip = client_ip(request)
        if not keys.ip_allowed(ip, key.allowed_ips):
            raise exceptions.PermissionDenied(
                f"Requests from {ip} are not in this key's IP allow-list.", code="ip_not_allowed"
            )
        api_key_touch(key=key, ip=ip, now=now)
        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


@memoize
def _key_sql() -> str:
    return (
        f"SELECT {select_list(ApiKey, 'k')}, {select_list(Reseller, 'r')} "  # noqa: S608
        f'FROM "{ApiKey._meta.db_table}" k JOIN "{Reseller._meta.db_table}" r '
        'ON r."id" = k."reseller_id" WHERE k."key_hash" = %s::text'
    )


def _key_by_hash(key_hash: str) -> ApiKey | None:
    """The key with its reseller: every request asks, so on PostgreSQL a prepared statement.

    Hand-written for bench/api.py (79f48f3, with the rate limit in one Lua call).
    No before/after figure of this statement alone was recorded; README's API
    benchmark gives /api/v1/ping (this lookup and the rate limit) 590 to 840/s.
    tests/api/test_keys.py compares it with the ORM's select_related read.
    """
    if connection.vendor != "postgresql":
        return ApiKey.objects.select_related("reseller").filter(key_hash=key_hash).first()
    rows = execute_prepared(_key_sql(), [key_hash])
    if not rows:
        return None
    key, reseller = instances(rows[0], [ApiKey, Reseller])
    key.reseller = reseller  # type: ignore[attr-defined]
    return key  # type: ignore[return-value]


def actor_of(request: Request) -> Actor:
    key: ApiKey = request.auth  # type: ignore[assignment]
    return Actor.for_api_key(key_id=key.pk, prefix=key.prefix, reseller_id=key.reseller_id,
                             ip=client_ip(request))


class HasScope(BasePermission):
    """The view's `required_scopes[method]` (or `required_scope`) must be among the key's."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated("Send an API key: `Authorization: Bearer ...`.")
        needed = getattr(view, "required_scopes", {}).get(request.method) or getattr(
            view, "required_scope", None
        )
        if needed and needed not in key.scopes:
            raise exceptions.PermissionDenied(
                f"This key lacks the {needed} scope.", code="missing_scope"
            )
        return True


class KeyRateThrottle(BaseThrottle):
    """A fixed-window counter per key in the cache (atomic INCR on Redis)."""

    def __init__(self) -> None:
        self.retry_after: float | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        limit, window = _parse_rate(settings.API_RATE_LIMIT)
        now = time.time()
        bucket = int(now // window)
        count = _count(f"api-rate:{key.pk}:{bucket}", timeout=window * 2)
        if count > limit:
            self.retry_after = (bucket + 1) * window - now
            return False
        return True

    def wait(self) -> float | None:
        return None if self.retry_after is None else float(max(1, math.ceil(self.retry_after)))


# INCR, and EXPIRE on the first hit of the window: atomic, in one round trip.
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""

_count_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _count(cache_key: str, *, timeout: int) -> int:
    """Add one to a counter and return it: one round trip on Redis."""
    redis_cache = getattr(cache, "_cache", None)
    if redis_cache is not None and hasattr(redis_cache, "get_client"):
        full_key = cache.make_and_validate_key(cache_key)
        script = _count_scripts.get(redis_cache)
        if script is None:
            # One client per cache: redis-py builds a client's callback table on creation.
            script = redis_cache.get_client(full_key, write=True).register_script(_COUNT_SCRIPT)
            _count_scripts[redis_cache] = script
        return int(script(keys=[full_key], args=[timeout]))
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=timeout)
        return 1


def _parse_rate(rate: str) -> tuple[int, int]:
    """"100/s", "6000/min", "1000/h" -> (requests, window in seconds)."""
    number, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period.strip()[0].lower()]
    return int(number), seconds
