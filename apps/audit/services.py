from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils import timezone

from apps.core.actors import Actor
from apps.core.db import insert_rows

from .models import AuditEntry


def audit_record(
    *,
    actor: Actor,
    reseller_id: int | None,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Write one audit row. Call it inside the service's own transaction."""
    entry = AuditEntry(
        created_at=now or timezone.now(),
        reseller_id=reseller_id,
        **actor.row_fields(),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        before=before,
        after=after,
        ip=actor.ip,
    )
    entry.save()
    return entry


def snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    """The named fields of obj, for an audit row's before or after."""
    return {name: getattr(obj, name) for name in fields}


def audit_record_many(
    *,
    actor: Actor,
    reseller_id: int | None,
    action: str,
    changes: list[tuple[models.Model, dict[str, Any] | None, dict[str, Any] | None]],
    now: dt.datetime | None = None,
) -> int:
    """One audit row per (object, before, after), in one insert. Inside the caller's transaction."""
    at = now or timezone.now()
    actor_user_id = actor.user.pk if actor.user is not None else None
    insert_rows(AuditEntry, [
        {"created_at": at, "reseller_id": reseller_id, "actor_type": actor.kind,
         "actor_user_id": actor_user_id, "actor_api_key_id": actor.api_key_id,
         "actor_label": actor.label, "action": action, "object_type": obj._meta.label_lower,
         "object_id": str(obj.pk), "before": before, "after": after, "ip": actor.ip}
        for obj, before, after in changes
    ])
    return len(changes)
