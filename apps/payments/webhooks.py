"""Stripe's webhooks in: `/webhooks/stripe/<reseller slug>/<test|live>/`.

Each request is checked with the reseller's signing secret for that mode
(Stripe's scheme, 300 seconds of tolerance), stored once by the event's id (a
duplicate is answered 200 and ignored), and the object it names is fetched
from Stripe rather than trusted from the payload, so events arriving out of
order change nothing wrongly: each applies the object's state as it is now.
The fetch runs before any row is locked; the store and the change commit
together, so a failure answers 5xx and Stripe sends the event again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import stripe
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.audit.services import audit_record
from apps.core import catalogue, crypto
from apps.core.events import publish

from . import stripe_api
from .charges import SYSTEM, payment_apply, refund_recorded_at_stripe, sync_from_intent
from .models import CardStatus, Payment, PaymentMethod, StripeEvent, StripeKeys

logger = logging.getLogger(__name__)

HANDLED = (
    "payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
    "charge.dispute.created", "payment_method.detached",
)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _error(status: int, code: str, message: str, *, type_: str = "invalid_request_error",
           param: str | None = None) -> Answer:
    return Answer(status, {"error": {"type": type_, "code": code, "message": message,
                                     "param": param}})


def stripe_webhook_receive(*, slug: str, mode: str, payload: bytes, signature: str,
                           now: dt.datetime | None = None) -> Answer:
    now = now or timezone.now()
    if mode not in ("test", "live"):
        return _error(404, "not_found", "The mode is test or live.")
    livemode = mode == "live"
    reseller = Reseller.objects.filter(slug=slug).first()
    if reseller is None:
        return _error(404, "reseller_not_found", "No such reseller.")
    keys = stripe_api.keys_for(reseller.pk, livemode)
    if keys is None or not keys.webhook_secret_encrypted:
        return _error(404, "webhook_not_configured",
                      f"No Stripe webhook signing secret is set for {mode} mode.")
    try:
        event = stripe_api.event_verified(payload, signature,
                                          crypto.decrypt(keys.webhook_secret_encrypted))
    except stripe.SignatureVerificationError as error:
        return _error(400, "invalid_signature",
                      f"The Stripe-Signature header does not verify: {error.user_message or error}"
                      .strip(), param="Stripe-Signature")
    except ValueError:
        return _error(400, "invalid_json", "The body is not a JSON Stripe event.")
    if bool(getattr(event, "livemode", False)) != livemode:
        return _error(400, "livemode_mismatch",
                      f"A {'live' if event.livemode else 'test'} event sent to the {mode} URL.")
    if StripeEvent.objects.filter(reseller=reseller, livemode=livemode,
                                  stripe_id=event.id).exists():
        return Answer(200, {"received": True, "duplicate": True})
    try:
        fetched = _fetch(keys, event) if event.type in HANDLED else None
    except stripe_api.StripeUnavailable:
        return _error(503, "stripe_unavailable", "Stripe did not answer; send the event again.",
                      type_="api_error")
    except stripe_api.StripeRejected as error:
        logger.warning("stripe webhook %s: the object could not be fetched: %s", event.id, error)
        fetched = None
    obj = event.data.object
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.create(
                reseller=reseller, livemode=livemode, stripe_id=event.id, type=event.type,
                object_id=str(getattr(obj, "id", "") or ""), received_at=now)
            result = _apply(reseller, event.type, fetched, now=now) if fetched else "ignored"
            StripeEvent.objects.filter(pk=stored.pk).update(processed_at=now,
                                                            result=result[:255])
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery stored it.
        return Answer(200, {"received": True, "duplicate": True})
    return Answer(200, {"received": True, "result": result})


def _fetch(keys: StripeKeys, event: Any) -> Any:
    obj = event.data.object
    if event.type.startswith("payment_intent."):
        return stripe_api.payment_intent_retrieve(keys, obj.id)
    if event.type == "charge.refunded":
        return stripe_api.charge_retrieve(keys, obj.id)
    if event.type == "charge.dispute.created":
        dispute = stripe_api.dispute_retrieve(keys, obj.id)
        if not getattr(dispute, "payment_intent", None) and getattr(dispute, "charge", None):
            # Older API versions name only the charge: its PaymentIntent says whose it is.
            dispute.payment_intent = stripe_api.charge_retrieve(keys, dispute.charge).payment_intent
        return dispute
    if event.type == "payment_method.detached":
        return stripe_api.payment_method_retrieve(keys, obj.id)
    return None


def _payment_of_intent(reseller: Reseller, intent_id: str) -> Payment | None:
    if not intent_id:
        return None
    return (Payment.objects.filter(reseller=reseller, stripe_payment_intent=intent_id)
            .select_related("payment_method").first())


def _apply(reseller: Reseller, type_: str, obj: Any, *, now: dt.datetime) -> str:
    if obj.object == "payment_intent":
        payment = _payment_of_intent(reseller, obj.id)
        if payment is None:
            payment_id = stripe_api.metadata_of(obj).get("payment", "")
            payment = (Payment.objects.filter(reseller=reseller, pk=int(payment_id))
                       .select_related("payment_method").first()
                       if str(payment_id).isdigit() else None)
        if payment is None:
            return "no payment of the panel"
        sync_from_intent(payment, obj, now=now)
        outcome = payment_apply(payment, now=now)
        return f"payment {payment.pk} {payment.state}; {outcome}"
    if obj.object == "charge":
        payment = _payment_of_intent(reseller, str(obj.payment_intent or ""))
        if payment is None:
            return "no payment of the panel"
        done = 0
        for refund in (getattr(obj, "refunds", None) and obj.refunds.data) or []:
            if refund.status == "succeeded" and refund_recorded_at_stripe(
                    payment, stripe_refund_id=refund.id, amount=refund.amount, now=now):
                done += 1
        return f"payment {payment.pk}: refunds recorded: {done}"
    if obj.object == "dispute":
        payment = _payment_of_intent(reseller, str(getattr(obj, "payment_intent", "") or ""))
        if payment is None:
            return "no payment of the panel"
        return _disputed(payment, obj, now=now)
    if obj.object == "payment_method":
        if getattr(obj, "customer", None):
            return "still attached"
        moved = PaymentMethod.objects.filter(reseller=reseller, stripe_id=obj.id).exclude(
            status=CardStatus.DETACHED).update(status=CardStatus.DETACHED, is_default=False,
                                                status_reason="removed at Stripe", updated_at=now)
        return f"cards removed: {moved}"
    return "ignored"


def _disputed(payment: Payment, dispute: Any, *, now: dt.datetime) -> str:
    """Flag the subscriber and the account (an audit row the subscriber page shows) and tell
    the reseller's owners (an email through the outbox)."""
    reason = str(getattr(dispute, "reason", "") or "")
    amount = int(getattr(dispute, "amount", payment.amount) or payment.amount)
    audit_record(actor=SYSTEM, reseller_id=payment.reseller_id, action="payment.disputed",
                 obj=payment, after={"dispute": dispute.id, "amount": amount, "reason": reason,
                                     "subscriber": payment.subscriber_id,
                                     "account": payment.account_id}, now=now)
    Payment.objects.filter(pk=payment.pk).update(disputed_at=now, updated_at=now)
    publish(catalogue.PAYMENT_DISPUTED.event(
        reseller_id=payment.reseller_id, livemode=payment.livemode,
        payload=catalogue.PaymentDisputed(
            payment_id=payment.pk, subscriber_id=payment.subscriber_id,
            account_id=payment.account_id, amount=amount, currency=payment.currency,
            reason=reason, now=now.isoformat(), dedupe_key=f"dispute:{dispute.id}")))
    return f"payment {payment.pk} disputed"
