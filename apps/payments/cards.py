"""Saved cards: a subscriber's Stripe customer and the cards attached to it.

Card numbers never reach the panel: Stripe.js turns them into a PaymentMethod
on the subscriber's side, and the panel stores its id, brand, last four
digits and expiry. The Stripe calls run with no transaction open.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.core.errors import NotFound, ValidationError
from apps.subscriptions.models import Subscriber

from . import stripe_api
from .models import CardStatus, PaymentMethod, StripeCustomer


def stripe_customer_for(subscriber: Subscriber, *, now: dt.datetime | None = None) -> StripeCustomer:
    """The subscriber's Stripe customer, made once (the key is the subscriber's id, so a
    retry after a crash finds the first customer instead of making a second)."""
    found = StripeCustomer.objects.filter(subscriber=subscriber).first()
    if found is not None:
        return found
    keys = stripe_api.require_keys(subscriber.reseller_id, subscriber.livemode)
    stripe_id = stripe_api.customer_create(
        keys, email=subscriber.email, name=subscriber.name,
        metadata={"subscriber": str(subscriber.pk)},
        idempotency_key=f"customer:{subscriber.reseller_id}:{subscriber.pk}")
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(
                reseller_id=subscriber.reseller_id, subscriber=subscriber,
                livemode=subscriber.livemode, stripe_id=stripe_id,
                created_at=now or timezone.now())
    except IntegrityError:
        return StripeCustomer.objects.get(subscriber=subscriber)


def card_save(*, actor: Actor, subscriber: Subscriber, payment_method_id: str,
              make_default: bool = True, now: dt.datetime | None = None) -> PaymentMethod:
    """Attach a card (a PaymentMethod id from Stripe.js) to the subscriber and keep what may
    be shown of it. The default card is the one auto-renewal charges; a new card is enabled,
    so the next day's sweep tries it."""
    authorize(actor, subscriber.reseller_id, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    if not isinstance(payment_method_id, str) or not payment_method_id.startswith("pm_"):
        raise ValidationError("A card is a Stripe PaymentMethod id (pm_...).",
                              code="invalid_payment_method", param="payment_method")
    other = PaymentMethod.objects.filter(reseller_id=subscriber.reseller_id,
                                         livemode=subscriber.livemode,
                                         stripe_id=payment_method_id).first()
    if other is not None and other.subscriber_id != subscriber.pk:
        raise NotFound("No such card.", code="payment_method_not_found",
                       param="payment_method")
    customer = stripe_customer_for(subscriber, now=now)
    keys = stripe_api.require_keys(subscriber.reseller_id, subscriber.livemode)
    try:
        attached = stripe_api.payment_method_attach(
            keys, payment_method_id, customer=customer.stripe_id,
            idempotency_key=f"attach:{customer.stripe_id}:{payment_method_id}")
    except stripe_api.StripeDeclined as error:
        raise ValidationError(error.message, code=error.decline_code or error.code,
                              param="payment_method") from None
    except stripe_api.StripeRejected as error:
        raise ValidationError(error.message, code=error.code or "invalid_payment_method",
                              param="payment_method") from None
    card: Any = getattr(attached, "card", None)
    with transaction.atomic():
        if make_default:
            PaymentMethod.objects.filter(subscriber=subscriber, is_default=True).exclude(
                stripe_id=payment_method_id).update(is_default=False, updated_at=now)
        shown = {
            "subscriber": subscriber, "brand": str(getattr(card, "brand", "") or "")[:30],
            "last4": str(getattr(card, "last4", "") or "")[:4],
            "exp_month": getattr(card, "exp_month", None),
            "exp_year": getattr(card, "exp_year", None),
            "status": CardStatus.ENABLED, "status_reason": "",
            "is_default": make_default or not PaymentMethod.objects.filter(
                subscriber=subscriber, is_default=True).exclude(
                stripe_id=payment_method_id).exists(),
            "updated_at": now,
        }
        saved, _ = PaymentMethod.objects.update_or_create(
            reseller_id=subscriber.reseller_id, livemode=subscriber.livemode,
            stripe_id=payment_method_id, defaults=shown,
            create_defaults={**shown, "created_at": now})
        audit_record(actor=actor, reseller_id=subscriber.reseller_id, action="payment.card_saved",
                     obj=saved, after={"subscriber": subscriber.pk, "brand": saved.brand,
                                       "last4": saved.last4, "default": saved.is_default},
                     now=now)
    return saved


def card_remove(*, actor: Actor, card: PaymentMethod, now: dt.datetime | None = None) -> None:
    """Take a card off the subscriber: detached at Stripe, kept here as removed."""
    authorize(actor, card.reseller_id, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    keys = stripe_api.keys_for(card.reseller_id, card.livemode)
    if keys is not None:
        # Refused when it is detached at Stripe already.
        with suppress(stripe_api.StripeRejected):
            stripe_api.payment_method_detach(keys, card.stripe_id,
                                             idempotency_key=f"detach:{card.stripe_id}")
    with transaction.atomic():
        PaymentMethod.objects.filter(pk=card.pk).update(
            status=CardStatus.DETACHED, is_default=False, status_reason="removed",
            updated_at=now)
        audit_record(actor=actor, reseller_id=card.reseller_id, action="payment.card_removed",
                     obj=card, after={"subscriber": card.subscriber_id, "last4": card.last4},
                     now=now)
