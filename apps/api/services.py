"""Every write of the API app: keys, outside payments, webhook endpoints and deliveries."""

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
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.db import fetch, fetch_one
from apps.core.errors import IdempotencyKeyReused, NotFound, StateConflict, ValidationError
from apps.core.events import DomainEvent, memoized, publish, publishing_many, recall
from apps.subscriptions.models import ServiceAccount, Subscriber
from apps.subscriptions.services import (
    RenewResult,
    account_create,
    account_renew,
    plan_for_sale,
    subscriber_create,
)

from . import keys
from .models import (
    ApiKey,
    DeliveryStatus,
    ExternalPayment,
    IdempotencyRecord,
    KeyMode,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

KEY_FIELDS = ["name", "mode", "prefix", "scopes", "allowed_ips", "expires_at", "revoked_at"]
IDEMPOTENCY_TTL = dt.timedelta(hours=24)

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


# ---------------------------------------------------------------- accounts over the API


def _find_or_create_subscriber(
    *, actor: Actor, reseller: Reseller, livemode: bool, data: dict[str, Any]
) -> Subscriber:
    external_id = (data.get("external_id") or "").strip() or None
    email = (data.get("email") or "").strip().lower()
    mine = Subscriber.objects.filter(reseller=reseller, livemode=livemode)
    found: Subscriber | None
    if external_id:
        found = fetch_one(Subscriber, reseller_id=reseller.pk, livemode=livemode,
                          external_id=external_id)
        if found is not None:
            found.reseller = reseller
            return found
    elif email:
        found = mine.filter(email=email).order_by("id").first()
        if found is not None:
            return found
    if not external_id and not email:
        raise ValidationError("The subscriber needs an external_id or an email.",
                              code="required", param="subscriber")
    name = (data.get("name") or "").strip() or email or external_id or ""
    try:
        # No savepoint: subscriber_create refuses a taken external_id without a failed statement.
        return subscriber_create(actor=actor, reseller=reseller, name=name, email=email,
                                 external_id=external_id, livemode=livemode)
    except ValidationError as error:
        if error.code != "duplicate_external_id":
            raise
    # Created by a concurrent request a moment ago.
    return mine.get(external_id=external_id)


def api_account_create(
    *,
    actor: Actor,
    reseller: Reseller,
    livemode: bool,
    subscriber: dict[str, Any],
    plan_id: int,
    months: int | None = None,
    username: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ServiceAccount, str]:
    """Create an account for a subscriber found by external id, else email, else created."""
    with transaction.atomic(), publishing_many():
        plan = plan_for_sale(reseller.pk, plan_id)
        found = _find_or_create_subscriber(actor=actor, reseller=reseller, livemode=livemode,
                                           data=subscriber)
        return account_create(actor=actor, subscriber=found, plan=plan, months=months,
                              username=username, now=now)


# ---------------------------------------------------------------- payments


@dataclass(frozen=True)
class PaymentResult:
    payment: ExternalPayment
    renewal: RenewResult | None
    # False when the same reference was recorded before (a retry): nothing happened again.
    created: bool


def payment_record(
    *,
    actor: Actor,
    reseller: Reseller,
    livemode: bool,
    account_id: int,
    amount: int,
    currency: str,
    reference: str,
    paid_at: dt.datetime,
    api_key: ApiKey | None = None,
    now: dt.datetime | None = None,
) -> PaymentResult:
    """Record a payment made outside the panel and renew the account once per reference."""
    authorize(actor, reseller, Perm.ACCOUNT_RENEW)
    now = now or timezone.now()
    validate_currency(currency)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise ValidationError("The amount is a whole number of minor units, at least 1.",
                              code="invalid_amount", param="amount")
    reference = (reference or "").strip()
    if not reference or len(reference) > 200:
        raise ValidationError("A payment reference has 1 to 200 characters.", code="required",
                              param="reference")
    if paid_at > now + dt.timedelta(minutes=5):
        raise ValidationError("paid_at is in the future.", code="invalid", param="paid_at")
    with transaction.atomic():
        account = ServiceAccount.objects.filter(
            reseller=reseller, livemode=livemode, pk=account_id
        ).first()
        if account is None:
            raise NotFound("No such account.", code="account_not_found", param="account")
        # Lock the reseller first (the one lock order) so two requests with one reference queue.
        Reseller.objects.select_for_update().get(pk=reseller.pk)
        existing = ExternalPayment.objects.filter(
            reseller=reseller, livemode=livemode, reference=reference
        ).first()
        if existing is not None:
            if (existing.account_id, existing.amount, existing.currency) != (
                account.pk, amount, currency
            ):
                raise StateConflict(
                    f"The reference {reference!r} was recorded for another payment.",
                    code="duplicate_payment_reference", param="reference",
                )
            return PaymentResult(payment=existing, renewal=None, created=False)
        payment = ExternalPayment.objects.create(
            reseller=reseller, account=account, livemode=livemode, amount=amount,
            currency=currency, reference=reference, paid_at=paid_at, created_at=now,
            api_key=api_key,
        )
        renewal = account_renew(actor=actor, account=account, reference=reference,
                                idempotency_key=f"payment:{reference}", now=now)
        audit_record(actor=actor, reseller_id=reseller.pk, action="payment.record", obj=payment,
                     after={"account": account.pk, "amount": amount, "currency": currency,
                            "reference": reference, "renewal_queued": renewal.queued},
                     now=now)
        publish(DomainEvent(
            name="payment.recorded", reseller_id=reseller.pk, livemode=livemode,
            payload={"payment_id": payment.pk, "account_id": account.pk, "amount": amount,
                     "currency": currency, "reference": reference,
                     "renewal": "queued" if renewal.queued else "completed"},
        ))
    return PaymentResult(payment=payment, renewal=renewal, created=True)


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
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown or not events:
        raise ValidationError(
            f"Events are one or more of {', '.join(WebhookEvent.values)}.",
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
    # The account as the publisher holds it (see events.remember), else as stored.
    account = recall(("account", account_id)) or fetch_one(ServiceAccount, id=account_id)
    if account is None:
        return None
    return {
        "id": account.pk, "status": account.status, "pending_reason": account.pending_reason,
        "username": account.username, "plan": account.plan_id,
        "subscriber": account.subscriber_id, "starts_at": account.starts_at,
        "expires_at": account.expires_at, "auto_renew": account.auto_renew,
        "livemode": account.livemode,
    }


# Domain events whose webhook has another (documented, fixed) name.
WEBHOOK_NAME_OF = {
    "account.reminder_due": WebhookEvent.ACCOUNT_EXPIRING,
    "reseller.credit_floor": WebhookEvent.CREDITS_LOW,
}
# Looked up for every domain event: a set, not the enum's list built anew each time.
WEBHOOK_EVENTS = frozenset(WebhookEvent.values)


def webhook_consume(event: DomainEvent) -> None:
    """Domain-event consumer: an outbox row per subscribed endpoint, in the event's transaction."""
    name = WEBHOOK_NAME_OF.get(event.name, event.name)
    if name not in WEBHOOK_EVENTS:
        return
    # A reseller has a handful of endpoints: filter their events here (works on SQLite too).
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
    if name != event.name:
        event = DomainEvent(name=name, reseller_id=event.reseller_id, livemode=event.livemode,
                            payload=_public_payload(name, event.payload))
    now = timezone.now()
    data: dict[str, Any] = dict(event.payload)
    if "account_id" in data and event.name.startswith("account."):
        data["account"] = _account_object(int(data["account_id"]))
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"id": event_id, "type": event.name, "created": int(now.timestamp()),
               "livemode": event.livemode, "data": data}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, reseller_id=event.reseller_id, event_id=event_id,
                        event_type=event.name, payload=payload, created_at=now,
                        next_attempt_at=now, give_up_at=now + RETRY_WINDOW)
        for endpoint in endpoints
    )
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))


def _public_payload(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What an integrator sees of an internal event: no recipients, no internal keys."""
    if name == WebhookEvent.CREDITS_LOW:
        keys: tuple[str, ...] = ("balance", "floor", "needed_7_days", "needed_30_days")
    else:
        keys = ("account_id", "offset_days")
    return {key: payload[key] for key in keys if key in payload}


def _enqueue(ids: list[int], countdown: float = 0) -> None:
    from .tasks import deliver_webhook

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

