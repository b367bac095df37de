"""Idempotency-Key records: claim, store, replay and purge."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import crypto
from apps.core.errors import IdempotencyKeyReused, ValidationError

from ..models import (
    ApiKey,
    IdempotencyRecord,
)

IDEMPOTENCY_TTL = dt.timedelta(hours=24)

# ---------------------------------------------------------------- idempotency


@dataclass(frozen=True)
class Claim:
    record: IdempotencyRecord
    # True: this request is the first; False: replay the stored response.
    fresh: bool


def idempotency_claim(
    *, key: ApiKey, idempotency_key: str, method: str, path: str, request_hash: str,
    now: dt.datetime | None = None,
) -> Claim:
    """Claim the key for this request; call inside the transaction that does the work.

    A concurrent request with the same key waits on the unique index until
    the first commits, then replays its response: one effect.
    """
    now = now or timezone.now()
    if not idempotency_key or len(idempotency_key) > 255:
        raise ValidationError("An Idempotency-Key has 1 to 255 characters.",
                              code="invalid_idempotency_key", param="Idempotency-Key")
    IdempotencyRecord.objects.filter(api_key=key, key=idempotency_key, expires_at__lte=now).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                api_key=key, key=idempotency_key, request_hash=request_hash, method=method,
                path=path, created_at=now, expires_at=now + IDEMPOTENCY_TTL,
            )
        return Claim(record=record, fresh=True)
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(api_key=key, key=idempotency_key)
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used with another request: use a new key.",
            param="Idempotency-Key",
        )
    return Claim(record=record, fresh=False)


def idempotency_store(*, record: IdempotencyRecord, status: int, body: Any) -> None:
    """Keep the response, sealed: it can hold an account's password."""
    record.response_status = status
    record.response_body = {"sealed": crypto.encrypt(json.dumps(body, cls=DjangoJSONEncoder))}
    record.save(update_fields=["response_status", "response_body"])


def idempotency_response(record: IdempotencyRecord) -> Any:
    body = record.response_body or {}
    return json.loads(crypto.decrypt(body["sealed"])) if "sealed" in body else body


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


