"""Webhook endpoints, the domain-event consumer that queues deliveries, and delivery."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.catalogue import EVENT_TYPES, WEBHOOK_TYPES, PaymentChanged
from apps.core.db import fetch
from apps.core.errors import StateConflict, ValidationError
from apps.core.events import DomainEvent, memoized, recall
from apps.payments.models import Payment
from apps.subscriptions.models import ServiceAccount

from .. import keys
from ..models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from ..objects import account_object, payment_object

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------- webhook endpoints


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified)


def validate_webhook_url(url: str) -> str:
    """http or https only; private, link-local and loopback addresses refused unless allowed."""
    parsed = urllib.parse.urlsplit(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValidationError("A webhook URL is an http or https URL.", code="invalid_url",
                              param="url")
    if len(url) > 500:
        raise ValidationError("A webhook URL has at most 500 characters.", code="invalid_url",
                              param="url")
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return url
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ValidationError(f"The host {parsed.hostname!r} does not resolve.",
                              code="invalid_url", param="url") from None
    if any(_private(str(info[4][0]).split("%")[0]) for info in infos):
        raise ValidationError(
            "Webhook URLs may not point at private, link-local or loopback addresses.",
            code="url_not_allowed", param="url",
        )
    return url


def _clean_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_TYPES))
    if unknown or not events:
        raise ValidationError(
            f"Events are one or more of {', '.join(WEBHOOK_TYPES)}.",
            code="invalid_event", param="events",
        )
    return sorted(set(events))


ENDPOINT_FIELDS = ["url", "events", "description", "is_active", "deleted_at"]


@transaction.atomic
def webhook_endpoint_create(
    *, actor: Actor, reseller: Reseller, livemode: bool, url: str, events: list[str],
    description: str = "", now: dt.datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns (endpoint, signing secret): the secret is shown once."""
    authorize(actor, reseller, Perm.API_KEYS_MANAGE)
    now = now or timezone.now()
    secret = keys.generate_webhook_secret()
    endpoint = WebhookEndpoint.objects.create(
        reseller=reseller, livemode=livemode, url=validate_webhook_url(url),
        events=_clean_events(events), description=description[:200],
        secret_encrypted=crypto.encrypt(secret), created_at=now,
    )
    audit_record(actor=actor, reseller_id=reseller.pk, action="webhook_endpoint.create",
                 obj=endpoint, after=snapshot(endpoint, ENDPOINT_FIELDS), now=now)
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *, actor: Actor, endpoint: WebhookEndpoint, url: str | None = None,
    events: list[str] | None = None, description: str | None = None,
    is_active: bool | None = None, now: dt.datetime | None = None,
) -> WebhookEndpoint:
    authorize(actor, endpoint.reseller_id, Perm.API_KEYS_MANAGE)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = snapshot(endpoint, ENDPOINT_FIELDS)
    if url is not None:
        endpoint.url = validate_webhook_url(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = description[:200]
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.save()
    audit_record(actor=actor, reseller_id=endpoint.reseller_id, action="webhook_endpoint.update",
                 obj=endpoint, before=before, after=snapshot(endpoint, ENDPOINT_FIELDS), now=now)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(
    *, actor: Actor, endpoint: WebhookEndpoint, now: dt.datetime | None = None
) -> None:
    """Stop sending to the endpoint; pending deliveries are dropped, the log stays."""
    authorize(actor, endpoint.reseller_id, Perm.API_KEYS_MANAGE)
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = snapshot(endpoint, ENDPOINT_FIELDS)
    endpoint.deleted_at = now
    endpoint.is_active = False
    endpoint.save(update_fields=["deleted_at", "is_active"])
    endpoint.deliveries.filter(status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    audit_record(actor=actor, reseller_id=endpoint.reseller_id, action="webhook_endpoint.delete",
                 obj=endpoint, before=before, after=snapshot(endpoint, ENDPOINT_FIELDS), now=now)


# ---------------------------------------------------------------- deliveries

RETRY_WINDOW = dt.timedelta(days=3)
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_RETRY_GAP = dt.timedelta(hours=6)


def _account_object(account_id: int) -> dict[str, Any] | None:
    # The account as the publisher holds it (see events.remember), else as stored; the
    # object the API answers with (timestamps as strings, so the encoder keeps microseconds).
    account = (recall(("account", account_id))
               or ServiceAccount.objects.filter(pk=account_id).first())
    return None if account is None else account_object(account)


def _payment_object(payment_id: int) -> dict[str, Any] | None:
    payment = (Payment.objects.filter(pk=payment_id).select_related("payment_method")
               .prefetch_related("refunds").first())
    return None if payment is None else payment_object(payment)


def webhook_consume(event: DomainEvent) -> None:
    """Domain-event consumer: an outbox row per subscribed endpoint, in the event's transaction."""
    event_type = EVENT_TYPES.get(event.name)
    name = None if event_type is None else event_type.webhook
    if event_type is None or name is None:
        return
    # A reseller has a handful of endpoints: filter their events here (works on SQLite too).
    # A prepared read: it runs in every API account create, which bench/api.py measured
    # (b3ac8b6, README's API benchmark: 34.5 to 84.9 creates/s with the create path's
    # prepared inserts and reads).
    active = memoized(
        ("webhook_endpoints", event.reseller_id, event.livemode),
        lambda: fetch(
            WebhookEndpoint, 't."reseller_id" = %s AND t."livemode" = %s AND t."is_active" '
            'AND t."deleted_at" IS NULL', [event.reseller_id, event.livemode],
        ),
    )
    endpoints = [endpoint for endpoint in active if name in endpoint.events]
    if not endpoints:
        return
    now = timezone.now()
    data = event_type.public_payload(event.payload)
    if "account_id" in data and name.startswith("account."):
        data["account"] = _account_object(int(data["account_id"]))
    if event_type.payload is PaymentChanged:
        # The Payment object the API answers with, as it is in this transaction.
        data["payment"] = _payment_object(int(data["payment_id"]))
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"id": event_id, "type": name, "created": int(now.timestamp()),
               "livemode": event.livemode, "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, reseller_id=event.reseller_id, event_id=event_id,
                        event_type=name, payload=payload, created_at=now,
                        next_attempt_at=now, give_up_at=now + RETRY_WINDOW)
        for endpoint in endpoints
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))


def _enqueue(ids: list[int], countdown: float = 0) -> None:
    from ..tasks import deliver_webhook

    for delivery_id in ids:
        try:
            deliver_webhook.apply_async(args=(delivery_id,), countdown=countdown)
        except Exception:  # the broker is down: the periodic sweep sends it later
            logger.exception("Could not queue webhook delivery %s", delivery_id)


def backoff(attempts: int) -> dt.timedelta:
    """1 min, 2, 4, 8 ... capped at 6 hours between tries."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_RETRY_GAP)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only, checked)
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status), ""
    except urllib.error.HTTPError as error:
        return int(error.code), ""
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(error)[:500]


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Try one delivery if it is due. Returns its status after the try. Safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint").filter(pk=delivery_id).first()
        )
        if delivery is None:
            return "locked"
        if delivery.status != DeliveryStatus.PENDING or (
            delivery.next_attempt_at is not None and delivery.next_attempt_at > now
        ):
            return str(delivery.status)
        endpoint = delivery.endpoint
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        started = time.monotonic()
        try:
            validate_webhook_url(endpoint.url)
            secret = crypto.decrypt(endpoint.secret_encrypted)
            code, error = _post(endpoint.url, body, {
                "Content-Type": "application/json",
                "User-Agent": "billing-panel-webhooks/1",
                "X-Signature": keys.sign(secret, int(now.timestamp()), body),
                "X-Event-Id": delivery.event_id,
                "X-Event-Type": delivery.event_type,
            })
        except ValidationError as refused:
            code, error = None, refused.message
        WebhookAttempt.objects.create(
            delivery=delivery, attempted_at=now, status_code=code, error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )
        delivery.attempts += 1
        delivery.last_status_code = code
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        else:
            retry_at = now + backoff(delivery.attempts)
            if retry_at > delivery.give_up_at:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = retry_at
        delivery.save(update_fields=["attempts", "last_status_code", "status", "delivered_at",
                                     "next_attempt_at"])
        if delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None:
            wait = (delivery.next_attempt_at - now).total_seconds()
            ids = [delivery.pk]
            transaction.on_commit(lambda: _enqueue(ids, countdown=wait))
    return str(delivery.status)


def webhook_deliveries_due(*, now: dt.datetime | None = None, batch: int = 200) -> list[int]:
    """Ids of deliveries due now (the periodic sweep re-queues them if a task was lost)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at").values_list("pk", flat=True)[:batch]
    )


@transaction.atomic
def webhook_redeliver(
    *, actor: Actor, delivery: WebhookDelivery, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again on request, whatever its status; a fresh three-day window."""
    authorize(actor, delivery.reseller_id, Perm.API_KEYS_MANAGE)
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(
        pk=delivery.pk
    )
    if delivery.endpoint.deleted_at is not None:
        raise StateConflict("The endpoint was deleted.", code="endpoint_deleted",
                            param="endpoint")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = now + RETRY_WINDOW
    delivery.save(update_fields=["status", "next_attempt_at", "give_up_at"])
    audit_record(actor=actor, reseller_id=delivery.reseller_id, action="webhook.redeliver",
                 obj=delivery, now=now)
    ids = [delivery.pk]
    transaction.on_commit(lambda: _enqueue(ids))
    return delivery

