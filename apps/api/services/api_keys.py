"""API keys: create, revoke, rotate, and the last-used stamp."""

from __future__ import annotations

import datetime as dt
import ipaddress

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.errors import StateConflict, ValidationError

from .. import keys
from ..models import (
    ApiKey,
    KeyMode,
    Scope,
)

KEY_FIELDS = ["name", "mode", "prefix", "scopes", "allowed_ips", "expires_at", "revoked_at"]

# ---------------------------------------------------------------- keys


def _clean_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(Scope.values)}.",
            code="invalid_scope", param="scopes",
        )
    if not scopes:
        raise ValidationError("A key needs at least one scope.", code="required", param="scopes")
    return sorted(set(scopes))


def _clean_ips(allowed_ips: list[str]) -> list[str]:
    clean = []
    for value in allowed_ips:
        try:
            clean.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise ValidationError(
                f"{value!r} is not an IP address or network.", code="invalid_ip",
                param="allowed_ips",
            ) from None
    return clean


@transaction.atomic
def api_key_create(
    *,
    actor: Actor,
    reseller: Reseller,
    name: str,
    mode: str,
    scopes: list[str],
    allowed_ips: list[str] | None = None,
    expires_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
    _rotated_from: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """A new key. Returns (key, the full key): the full key is never stored nor shown again."""
    authorize(actor, reseller, Perm.API_KEYS_MANAGE)
    now = now or timezone.now()
    if not name or not name.strip():
        raise ValidationError("A key needs a name.", code="required", param="name")
    if mode not in KeyMode.values:
        raise ValidationError("The mode is live or test.", code="invalid_mode", param="mode")
    if expires_at is not None and expires_at <= now:
        raise ValidationError("The expiry is in the future.", code="invalid", param="expires_at")
    raw = keys.generate_key(mode)
    key = ApiKey.objects.create(
        reseller=reseller, name=name.strip(), mode=mode, prefix=keys.prefix_of(raw),
        key_hash=keys.hash_key(raw), scopes=_clean_scopes(scopes),
        allowed_ips=_clean_ips(allowed_ips or []), expires_at=expires_at,
        rotated_from=_rotated_from, created_at=now, created_by=actor.label,
    )
    audit_record(actor=actor, reseller_id=reseller.pk, action="api_key.create", obj=key,
                 after=snapshot(key, KEY_FIELDS), now=now)
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor: Actor, key: ApiKey, now: dt.datetime | None = None) -> ApiKey:
    authorize(actor, key.reseller_id, Perm.API_KEYS_MANAGE)
    now = now or timezone.now()
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        before = snapshot(key, KEY_FIELDS)
        key.revoked_at = now
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, reseller_id=key.reseller_id, action="api_key.revoke", obj=key,
                     before=before, after=snapshot(key, KEY_FIELDS), now=now)
    return key


@transaction.atomic
def api_key_rotate(
    *, actor: Actor, key: ApiKey, now: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key with the same settings; the old one is revoked at once."""
    old = api_key_revoke(actor=actor, key=key, now=now)
    if old.expires_at is not None and old.expires_at <= (now or timezone.now()):
        raise StateConflict("An expired key cannot be rotated.", code="api_key_expired")
    return api_key_create(
        actor=actor, reseller=old.reseller, name=old.name, mode=old.mode, scopes=old.scopes,
        allowed_ips=old.allowed_ips, expires_at=old.expires_at, now=now, _rotated_from=old,
    )


def api_key_touch(*, key: ApiKey, ip: str | None, now: dt.datetime | None = None) -> None:
    """Record the last use; at most one write a minute per key, so reads stay cheap."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < dt.timedelta(minutes=1) and (
        key.last_used_ip == ip
    ):
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


