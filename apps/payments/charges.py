"""Payments through the panel: card charges, wallet payments, top-ups, money recorded by hand,
refunds, and the resolution of payments whose outcome Stripe has not told yet.

Charged once, whatever fails:

- A payment row is committed, `processing`, before Stripe is called; its
  idempotency key (`<purpose key>:<attempt>`) is Stripe's Idempotency-Key. The
  purpose key says what it pays for: an account's period (the sweep's
  collection key), a top-up's key. The database allows one paid payment and one
  in flight per purpose (Payment's constraints).
- No answer from Stripe (a timeout, a dropped connection) leaves it `unknown`,
  never `failed`. `payment_resolve` asks Stripe again with the same key (the
  janitor every five minutes, the sweep's next collection, a webhook), and only
  then is the payment succeeded or failed, and the renewal applied.
- The renewal a payment pays for is keyed by the period, so however many times
  a success is applied (sweep, janitor, webhook), the account renews once.
- No Stripe call runs inside a transaction that holds a row lock; every state
  change is a conditional UPDATE with a PaymentEvent row.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Sum
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record
from apps.core import catalogue
from apps.core.actors import Actor
from apps.core.currencies import validate_currency
from apps.core.errors import (
    DomainError,
    IdempotencyKeyReused,
    NotFound,
    StateConflict,
    ValidationError,
)
from apps.core.events import publish
from apps.core.money import money_format
from apps.core.validation import idempotency_key as idempotency_key_valid
from apps.subscriptions.models import (
    AccountStatus,
    DunningCase,
    DunningStatus,
    PlanPrice,
    ServiceAccount,
    Subscriber,
    SubscriptionSettings,
)
from apps.subscriptions.services import account_renew, account_shorten, credits_for

from . import stripe_api
from .collectors import Collection
from .models import (
    IN_FLIGHT,
    PAID,
    CardStatus,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentPurpose,
    PaymentSource,
    PaymentState,
    Refund,
    RefundDestination,
    RefundState,
    StripeCustomer,
    StripeKeys,
    Wallet,
    WalletEntryKind,
)
from .selectors import PAY_LINK_SALT
from .services import collection_key, collection_unapplied, renewal_collected
from .wallets import (
    MAX_MINOR_PER_ENTRY,
    InsufficientWalletBalance,
    validate_amount,
    wallet_adjust,
    wallet_credit,
    wallet_debit,
)

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("payments")
MAX_AMOUNT = MAX_MINOR_PER_ENTRY
# Stripe keeps an idempotency key for 24 hours: a payment older than this is looked up
# among the customer's PaymentIntents instead of being asked for again with its key.
REPLAY_WINDOW = dt.timedelta(hours=23)
MANUAL_SOURCES = (PaymentSource.CASH, PaymentSource.BANK_TRANSFER)
TOP_UP_SOURCES = (PaymentSource.CASH, PaymentSource.BANK_TRANSFER, PaymentSource.EXTERNAL)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _reference(reference: object, *, required: bool) -> str:
    text = reference.strip() if isinstance(reference, str) else ""
    if reference is not None and not isinstance(reference, str):
        raise ValidationError("The reference is text.", code="invalid", param="reference")
    if required and not text:
        raise ValidationError("A reference is required (a receipt or transfer number).",
                              code="reference_required", param="reference")
    if len(text) > 200:
        raise ValidationError("A reference has at most 200 characters.", code="invalid",
                              param="reference")
    return text


# ---------------------------------------------------------------- prices


def renewal_price(account: ServiceAccount, months: int) -> tuple[int, str]:
    """What `months` of the account's plan (its next plan, if one is scheduled) cost in its
    currency, in minor units. Raises `currency_not_offered` when the plan has no price there."""
    plan = account.next_plan or account.plan
    credits_for(plan, months)  # refuses months that are not whole periods of the plan
    price = PlanPrice.objects.filter(plan=plan, currency=account.currency).first()
    if price is None:
        raise ValidationError(f"The {plan.name} plan has no price in {account.currency}.",
                              code="currency_not_offered", param="currency")
    return price.amount * (months // plan.duration_months), account.currency


# ---------------------------------------------------------------- states


def _payload(payment: Payment, now: dt.datetime, *, dedupe: str, action_url: str = "",
             error: str = "") -> catalogue.PaymentChanged:
    return catalogue.PaymentChanged(
        payment_id=payment.pk, subscriber_id=payment.subscriber_id,
        account_id=payment.account_id, source=payment.source, purpose=payment.purpose,
        state=payment.state, amount=payment.amount, currency=payment.currency,
        refunded_amount=payment.refunded_amount, now=now.isoformat(),
        dedupe_key=f"payment:{payment.pk}:{dedupe}",
        amount_display=money_format(payment.amount, payment.currency),
        action_url=action_url, error=error,
    )


STATE_EVENTS: dict[str, catalogue.EventType[catalogue.PaymentChanged]] = {
    PaymentState.SUCCEEDED: catalogue.PAYMENT_SUCCEEDED,
    PaymentState.FAILED: catalogue.PAYMENT_FAILED,
    PaymentState.REQUIRES_ACTION: catalogue.PAYMENT_ACTION_REQUIRED,
    PaymentState.REFUNDED: catalogue.PAYMENT_REFUNDED,
    PaymentState.PARTIALLY_REFUNDED: catalogue.PAYMENT_REFUNDED,
}


def _transition(payment: Payment, to_state: str, *, actor_label: str, now: dt.datetime,
                note: str = "", data: dict[str, Any] | None = None,
                **fields: Any) -> bool:
    """Move the payment from the state it was read in to `to_state`, with its event row.

    False, and nothing written, when another writer moved it first (the caller reads
    it again). Publishes the state's domain event (webhook, email) in the same
    transaction.
    """
    from_state = payment.state
    with transaction.atomic():
        moved = Payment.objects.filter(pk=payment.pk, state=from_state).update(
            state=to_state, updated_at=now, **fields)
        if not moved:
            return False
        payment.state = to_state
        payment.updated_at = now
        for name, value in fields.items():
            setattr(payment, name, value)
        PaymentEvent.objects.create(payment=payment, reseller_id=payment.reseller_id,
                                    created_at=now, from_state=from_state, to_state=to_state,
                                    actor_label=actor_label, note=note[:500], data=data or {})
        event_type = STATE_EVENTS.get(to_state)
        if event_type is not None and to_state != from_state:
            publish(event_type.event(
                reseller_id=payment.reseller_id, livemode=payment.livemode,
                payload=_payload(payment, now, dedupe=to_state,
                                 action_url=(data or {}).get("action_url", ""),
                                 error=payment.error_message)))
    return True


def _in_flight_for_account(account_id: int) -> bool:
    return Payment.objects.filter(account_id=account_id, state__in=IN_FLIGHT).exists()


def account_has_payment_in_flight(account: ServiceAccount) -> bool:
    """The check apps.subscriptions.guards runs before a financial operation on the account."""
    return _in_flight_for_account(account.pk)


def _new_attempt(*, subscriber: Subscriber, account: ServiceAccount | None, source: str,
                 purpose: str, purpose_key: str, amount: int, currency: str, state: str,
                 actor_label: str, now: dt.datetime, months: int | None = None,
                 period: dt.datetime | None = None, payment_method: PaymentMethod | None = None,
                 reference: str = "") -> Payment:
    """The next attempt at `purpose_key`, written with its first event, in the caller's
    transaction. With an account, its row is locked and no other payment for it may be in
    flight (`payment_in_progress`)."""
    if account is not None:
        # The one lock order: the reseller, then the account.
        Reseller.objects.select_for_update().only("pk").get(pk=subscriber.reseller_id)
        ServiceAccount.objects.select_for_update(of=("self",)).filter(pk=account.pk).first()
        if _in_flight_for_account(account.pk):
            raise StateConflict(
                "A payment for this account is in progress; try again when it has finished.",
                code="payment_in_progress", param="account")
    last = (Payment.objects.filter(reseller_id=subscriber.reseller_id, purpose_key=purpose_key)
            .aggregate(n=Max("attempt"))["n"]) or 0
    attempt = last + 1
    paid = state in PAID
    payment = Payment.objects.create(
        reseller_id=subscriber.reseller_id, subscriber=subscriber, account=account,
        livemode=subscriber.livemode, source=source, purpose=purpose, state=state,
        amount=amount, currency=currency, purpose_key=purpose_key, attempt=attempt,
        idempotency_key=f"{purpose_key}:{attempt}", period_expires_at=period, months=months,
        reference=reference, payment_method=payment_method, paid_at=now if paid else None,
        created_at=now, updated_at=now, actor_label=actor_label,
    )
    PaymentEvent.objects.create(payment=payment, reseller_id=payment.reseller_id, created_at=now,
                                from_state="", to_state=state, actor_label=actor_label)
    return payment


# ---------------------------------------------------------------- cards


def _default_card(subscriber_id: int) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(subscriber_id=subscriber_id, is_default=True).first()


def card_disable(card: PaymentMethod, *, reason: str, now: dt.datetime) -> None:
    PaymentMethod.objects.filter(pk=card.pk, status=CardStatus.ENABLED).update(
        status=CardStatus.DISABLED, status_reason=reason[:255], updated_at=now)
    card.status = CardStatus.DISABLED


def card_enable(card_id: int | None, *, now: dt.datetime) -> None:
    """A payment with the card succeeded: auto-renewal may use it again."""
    if card_id is not None:
        PaymentMethod.objects.filter(pk=card_id, status=CardStatus.DISABLED).update(
            status=CardStatus.ENABLED, status_reason="", updated_at=now)


def _charge_params(payment: Payment, customer: str, card: PaymentMethod) -> dict[str, Any]:
    """The PaymentIntent's parameters: the same for every replay of the payment's key."""
    return {
        "amount": payment.amount, "currency": payment.currency, "customer": customer,
        "payment_method": card.stripe_id, "idempotency_key": payment.idempotency_key,
        "metadata": {"payment": str(payment.pk), "subscriber": str(payment.subscriber_id),
                     "account": str(payment.account_id or ""), "purpose": payment.purpose},
        "description": f"{payment.get_purpose_display()} {payment.purpose_key}"[:300],
    }


def _keys(payment: Payment) -> StripeKeys | None:
    return stripe_api.keys_for(payment.reseller_id, payment.livemode)


def _charge(payment: Payment, *, now: dt.datetime) -> Payment:
    """Ask Stripe to charge the payment's card (again, with the same key) and record the answer.

    Called with no transaction open. The payment's card and customer are read from the
    database; the answer moves the payment out of processing or unknown.
    """
    keys = _keys(payment)
    card = payment.payment_method
    customer = StripeCustomer.objects.filter(subscriber_id=payment.subscriber_id).first()
    if keys is None or card is None or customer is None:
        _transition(payment, PaymentState.FAILED, actor_label=SYSTEM.label, now=now,
                    note="no Stripe keys, card or customer", error_code="card_payments_off",
                    error_message="Card payments are off: no Stripe keys or no saved card.")
        return payment
    try:
        intent = stripe_api.payment_intent_charge(keys, **_charge_params(payment, customer.stripe_id,
                                                                          card))
    except stripe_api.StripeUnavailable as error:
        if payment.state != PaymentState.UNKNOWN:
            _transition(payment, PaymentState.UNKNOWN, actor_label=SYSTEM.label, now=now,
                        note=f"no answer from Stripe: {error}"[:500])
        return payment
    except stripe_api.StripeDeclined as error:
        intent_id = getattr(error.payment_intent, "id", "") or ""
        if error.needs_authentication:
            _needs_action(payment, intent_id=intent_id, now=now, message=error.message)
            return payment
        _declined(payment, card, intent_id=intent_id, code=error.code,
                  decline_code=error.decline_code, message=error.message, now=now)
        return payment
    except stripe_api.StripeRejected as error:
        _transition(payment, PaymentState.FAILED, actor_label=SYSTEM.label, now=now,
                    note="Stripe refused the request", error_code=error.code or "stripe_rejected",
                    error_message=error.message[:500])
        return payment
    sync_from_intent(payment, intent, now=now)
    return payment


def _needs_action(payment: Payment, *, intent_id: str, now: dt.datetime, message: str) -> None:
    _transition(payment, PaymentState.REQUIRES_ACTION, actor_label=SYSTEM.label, now=now,
                note="the card needs the cardholder to authenticate",
                data={"action_url": payment_action_url(payment)},
                stripe_payment_intent=intent_id or payment.stripe_payment_intent,
                error_code="authentication_required", error_message=message[:500])


def _declined(payment: Payment, card: PaymentMethod | None, *, intent_id: str, code: str,
              decline_code: str, message: str, now: dt.datetime) -> None:
    if _transition(payment, PaymentState.FAILED, actor_label=SYSTEM.label, now=now,
                   note=f"declined: {decline_code or code}",
                   data={"action_url": payment_action_url(payment)},
                   stripe_payment_intent=intent_id or payment.stripe_payment_intent,
                   error_code=code or "card_declined", decline_code=decline_code or "",
                   error_message=(message or "The card was declined.")[:500]) and card:
        card_disable(card, reason=f"{decline_code or code}: {message}", now=now)


def payment_action_url(payment: Payment) -> str:
    """Where the subscriber authenticates the payment or replaces the card: a signed link
    to the payment's page (apps.payments.views.pay_page), under settings.PUBLIC_BASE_URL."""
    token = signing.dumps({"payment": payment.pk}, salt=PAY_LINK_SALT)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('payments_pay', args=[token])}"


def sync_from_intent(payment: Payment, intent: Any, *, now: dt.datetime) -> Payment:
    """Set the payment from the PaymentIntent as Stripe has it now (fetched, never a payload).

    Events arriving out of order change nothing wrongly: each reads the object's
    current state, and a payment already paid is never moved back.
    """
    status = getattr(intent, "status", "")
    intent_id = str(getattr(intent, "id", "") or "")
    if payment.state in PAID:
        return payment
    if status == "succeeded":
        if _transition(payment, PaymentState.SUCCEEDED, actor_label=SYSTEM.label, now=now,
                       stripe_payment_intent=intent_id, paid_at=now, error_code="",
                       decline_code="", error_message=""):
            card_enable(payment.payment_method_id, now=now)
        return payment
    if status in ("processing", "requires_capture", "requires_confirmation"):
        if intent_id and payment.stripe_payment_intent != intent_id:
            Payment.objects.filter(pk=payment.pk).update(stripe_payment_intent=intent_id)
            payment.stripe_payment_intent = intent_id
        return payment
    if status == "requires_action":
        if payment.state != PaymentState.REQUIRES_ACTION:
            _needs_action(payment, intent_id=intent_id, now=now,
                          message="The card needs the cardholder to authenticate.")
        return payment
    # requires_payment_method (declined, or the authentication failed) or canceled.
    error = getattr(intent, "last_payment_error", None)
    if (status == "requires_payment_method"
            and getattr(error, "code", "") == "authentication_required"):
        # Stripe's answer to an off-session charge the bank wants confirmed: not a decline.
        if payment.state != PaymentState.REQUIRES_ACTION:
            _needs_action(payment, intent_id=intent_id, now=now,
                          message=getattr(error, "message", "") or
                          "The card needs the cardholder to authenticate.")
        return payment
    if payment.state != PaymentState.FAILED:
        _declined(payment, payment.payment_method, intent_id=intent_id,
                  code=getattr(error, "code", "") or "card_declined",
                  decline_code=getattr(error, "decline_code", "") or "",
                  message=getattr(error, "message", "") or f"The payment is {status}.", now=now)
    return payment


# ---------------------------------------------------------------- collections at renewal


def _collected(payment: Payment) -> Collection:
    return Collection(ok=True, amount=payment.amount, currency=payment.currency,
                      reference=payment.stripe_payment_intent or f"payment:{payment.pk}",
                      payment_id=payment.pk, months=payment.months)


def _purpose_payments(reseller_id: int, purpose_key: str) -> list[Payment]:
    return list(Payment.objects.filter(reseller_id=reseller_id, purpose_key=purpose_key)
                .select_related("payment_method").order_by("attempt"))


def _wallet_balance(subscriber_id: int, currency: str) -> int:
    return (Wallet.objects.filter(subscriber_id=subscriber_id, currency=currency)
            .values_list("balance", flat=True).first()) or 0


def wallet_collect(account: ServiceAccount, *, months: int, purpose_key: str,
                   now: dt.datetime | None = None) -> Collection:
    """The wallet pays the whole renewal in the account's currency, or nothing is taken."""
    now = _now(now)
    try:
        amount, currency = renewal_price(account, months)
    except DomainError as error:
        return Collection(ok=False, error=error.message)
    for payment in _purpose_payments(account.reseller_id, purpose_key):
        if payment.state in PAID:
            return _collected(payment)
    balance = _wallet_balance(account.subscriber_id, currency)
    if balance < amount:
        return Collection(ok=False, error=(
            f"The wallet holds {money_format(balance, currency)} of the "
            f"{money_format(amount, currency)} the renewal costs."))
    try:
        with transaction.atomic():
            payment = _new_attempt(
                subscriber=account.subscriber, account=account, source=PaymentSource.WALLET,
                purpose=PaymentPurpose.RENEWAL, purpose_key=purpose_key, amount=amount,
                currency=currency, state=PaymentState.SUCCEEDED, actor_label=SYSTEM.label,
                now=now, months=months, period=account.expires_at)
            wallet_debit(actor=SYSTEM, subscriber=account.subscriber, currency=currency,
                         amount=amount, idempotency_key=payment.idempotency_key,
                         payment=payment, account=account, now=now)
            publish(catalogue.PAYMENT_SUCCEEDED.event(
                reseller_id=payment.reseller_id, livemode=payment.livemode,
                payload=_payload(payment, now, dedupe=PaymentState.SUCCEEDED)))
    except InsufficientWalletBalance as error:
        return Collection(ok=False, error=error.message)
    except StateConflict as error:
        return Collection(ok=False, pending=True, error=error.message)
    except IntegrityError:
        # Paid a moment ago by another door (a top-up's drain, a second sweep).
        for payment in _purpose_payments(account.reseller_id, purpose_key):
            if payment.state in PAID:
                return _collected(payment)
        raise
    return _collected(payment)


def card_collect(account: ServiceAccount, *, months: int, purpose_key: str,
                 now: dt.datetime | None = None) -> Collection:
    """The wallet when it covers the renewal, else the default card, off-session.

    A payment of this period already in flight is asked about again (same key)
    rather than charged anew; a failed card is tried again only once it is
    enabled (a new card, or a successful payment with it).
    """
    now = _now(now)
    try:
        amount, currency = renewal_price(account, months)
    except DomainError as error:
        return Collection(ok=False, error=error.message)
    payments = _purpose_payments(account.reseller_id, purpose_key)
    for payment in payments:
        if payment.state in PAID:
            return _collected(payment)
    for payment in payments:
        if payment.state in IN_FLIGHT:
            payment = payment_resolve(payment, now=now)
            if payment.state in PAID:
                return _collected(payment)
            if payment.state in IN_FLIGHT:
                return Collection(ok=False, pending=True,
                                  error="The card payment is still being processed.")
        if payment.state == PaymentState.REQUIRES_ACTION:
            return Collection(ok=False, error="The card needs the subscriber to authenticate "
                                              "the payment.",
                              action_url=payment_action_url(payment))
    if _wallet_balance(account.subscriber_id, currency) >= amount:
        return wallet_collect(account, months=months, purpose_key=purpose_key, now=now)
    card = _default_card(account.subscriber_id)
    if card is None or card.status != CardStatus.ENABLED:
        why = ("no card is saved" if card is None
               else f"the card {card} is {card.get_status_display().lower()}")
        return Collection(ok=False, error=f"Not charged: {why}.")
    if stripe_api.keys_for(account.reseller_id, account.livemode) is None:
        return Collection(ok=False, error="Not charged: card payments are off (no Stripe keys).")
    try:
        with transaction.atomic():
            payment = _new_attempt(
                subscriber=account.subscriber, account=account, source=PaymentSource.CARD,
                purpose=PaymentPurpose.RENEWAL, purpose_key=purpose_key, amount=amount,
                currency=currency, state=PaymentState.PROCESSING, actor_label=SYSTEM.label,
                now=now, months=months, period=account.expires_at, payment_method=card)
    except (StateConflict, IntegrityError):
        return Collection(ok=False, pending=True,
                          error="Another payment for this account is in progress.")
    payment = _charge(payment, now=now)
    if payment.state in PAID:
        return _collected(payment)
    if payment.state in IN_FLIGHT:
        return Collection(ok=False, pending=True,
                          error="Stripe has not answered; the payment is checked again.")
    return Collection(ok=False, error=_failure_text(payment),
                      action_url=payment_action_url(payment))


class WalletCollector:
    """The subscriber's wallet pays the whole renewal in the account's currency, or nothing."""

    renews_here = True

    def collect(self, account: ServiceAccount, *, months: int, idempotency_key: str) -> Collection:
        return wallet_collect(account, months=months, purpose_key=idempotency_key)


class CardCollector:
    """The wallet when it covers the renewal, else the default card, off-session (Stripe)."""

    renews_here = True

    def collect(self, account: ServiceAccount, *, months: int, idempotency_key: str) -> Collection:
        return card_collect(account, months=months, purpose_key=idempotency_key)


def _failure_text(payment: Payment) -> str:
    if payment.state == PaymentState.REQUIRES_ACTION:
        return "The card needs the subscriber to authenticate the payment."
    code = payment.decline_code or payment.error_code
    return f"Card declined ({code}): {payment.error_message}" if code else payment.error_message


# ---------------------------------------------------------------- resolution


def payment_resolve(payment: Payment, *, now: dt.datetime | None = None) -> Payment:
    """Settle a payment Stripe has not told us about: ask again, then apply what it says.

    Within Stripe's idempotency window the charge is asked for again with the same
    key, which repeats the first answer (or makes the charge, once, if the first
    request never arrived). Later, the customer's PaymentIntents are searched for
    the payment's id; none means it was never charged.
    """
    now = _now(now)
    payment.refresh_from_db()
    if payment.state not in IN_FLIGHT and payment.state != PaymentState.REQUIRES_ACTION:
        return payment
    if payment.source != PaymentSource.CARD:
        return payment
    keys = _keys(payment)
    if keys is None:
        return payment
    if payment.stripe_payment_intent:
        try:
            intent = stripe_api.payment_intent_retrieve(keys, payment.stripe_payment_intent)
        except (stripe_api.StripeUnavailable, stripe_api.StripeRejected):
            return payment
        return sync_from_intent(payment, intent, now=now)
    if payment.state == PaymentState.REQUIRES_ACTION:
        return payment
    if now - payment.created_at < REPLAY_WINDOW:
        return _charge(payment, now=now)
    customer = StripeCustomer.objects.filter(subscriber_id=payment.subscriber_id).first()
    try:
        found = stripe_api.payment_intent_find(keys, customer=customer.stripe_id if customer
                                               else "", payment_id=payment.pk)
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected):
        return payment
    if found is not None:
        return sync_from_intent(payment, found, now=now)
    _transition(payment, PaymentState.FAILED, actor_label=SYSTEM.label, now=now,
                note="never reached Stripe", error_code="not_charged",
                error_message="Stripe has no charge for this payment.")
    return payment


def payment_apply(payment: Payment, *, now: dt.datetime | None = None) -> str:
    """What a paid payment pays for, once: the renewal of its period (queued when credits are
    short). Called by the janitor and the webhooks; the sweep applies its own collections.
    Returns what happened: renewed, renewal_queued, not_applicable, or the error's text."""
    now = _now(now)
    if payment.state not in PAID or payment.applied_at is not None:
        return "not_applicable"
    if (payment.purpose != PaymentPurpose.RENEWAL or payment.period_expires_at is None
            or payment.account_id is None):
        return "not_applicable"
    collection = _collected(payment)
    with transaction.atomic():
        Reseller.objects.select_for_update().only("pk").get(pk=payment.reseller_id)
        account = (ServiceAccount.objects.select_for_update(of=("self",))
                   .select_related("plan", "next_plan", "subscriber").get(pk=payment.account_id))
        if Payment.objects.filter(pk=payment.pk, applied_at__isnull=False).exists():
            return "not_applicable"
        try:
            result = renewal_collected(actor=SYSTEM, account=account,
                                       period=payment.period_expires_at, collection=collection,
                                       now=now)
        except DomainError as error:
            message = collection_unapplied(actor=SYSTEM, account=account,
                                           period=payment.period_expires_at,
                                           collection=collection, why=error.message, now=now)
            Payment.objects.filter(pk=payment.pk).update(applied_at=now)
            logger.error("payments: %s", message)
            return message
    return "renewal_queued" if result.queued else "renewed"


@dataclass
class JanitorReport:
    resolved: int = 0
    applied: int = 0
    still_open: int = 0
    refunds_resolved: int = 0
    errors: list[str] = field(default_factory=list)


def payments_janitor(*, now: dt.datetime | None = None, older_than: dt.timedelta | None = None,
                     limit: int = 500) -> JanitorReport:
    """Settle what a crash or a timeout left open: payments processing for longer than
    `older_than` and every unknown one (asked again with their key), refunds likewise,
    and paid renewals whose renewal was never written."""
    now = _now(now)
    older_than = older_than or dt.timedelta(minutes=settings.PAYMENT_JANITOR_AFTER_MINUTES)
    report = JanitorReport()
    open_payments = (Payment.objects.filter(
        Q(state=PaymentState.UNKNOWN) | Q(state=PaymentState.PROCESSING,
                                          updated_at__lte=now - older_than))
        .order_by("updated_at")[:limit])
    for payment in open_payments:
        resolved = payment_resolve(payment, now=now)
        if resolved.state in IN_FLIGHT:
            report.still_open += 1
            continue
        report.resolved += 1
        # Nobody else applies what the janitor found paid (the sweep that charged it is gone);
        # the read of unapplied payments below would skip it as too recent.
        outcome = payment_apply(resolved, now=now)
        if outcome in ("renewed", "renewal_queued"):
            report.applied += 1
        elif outcome != "not_applicable":
            report.errors.append(outcome)
    unapplied = Payment.objects.filter(state__in=PAID, applied_at__isnull=True,
                                       purpose=PaymentPurpose.RENEWAL,
                                       updated_at__lte=now - older_than).order_by("pk")[:limit]
    for payment in unapplied:
        outcome = payment_apply(payment, now=now)
        if outcome in ("renewed", "renewal_queued"):
            report.applied += 1
        elif outcome != "not_applicable":
            report.errors.append(outcome)
    open_refunds = Refund.objects.filter(
        Q(state=RefundState.UNKNOWN) | Q(state=RefundState.PROCESSING,
                                         updated_at__lte=now - older_than),
        destination=RefundDestination.CARD).select_related("payment").order_by("pk")[:limit]
    for refund in open_refunds:
        if _refund_at_stripe(refund, now=now).state in (RefundState.SUCCEEDED,
                                                         RefundState.FAILED):
            report.refunds_resolved += 1
    return report


# ---------------------------------------------------------------- top-ups and money by hand


@dataclass(frozen=True)
class TopUpResult:
    payment: Payment
    # False: the key was used before; nothing happened again.
    created: bool
    # The accounts the top-up paid for, as (account id, what happened).
    paid_accounts: list[tuple[int, str]] = field(default_factory=list)


def _subscriber_of(actor: Actor, reseller: Reseller | int, subscriber_id: int,
                   perm: Perm) -> Subscriber:
    authorize(actor, reseller, perm)
    reseller_id = reseller if isinstance(reseller, int) else reseller.pk
    subscriber = Subscriber.objects.filter(reseller_id=reseller_id, pk=subscriber_id).first()
    if subscriber is None:
        raise NotFound("No such subscriber.", code="subscriber_not_found", param="subscriber")
    return subscriber


def wallet_top_up(*, actor: Actor, subscriber: Subscriber, amount: int, currency: str,
                  source: str, reference: str, idempotency_key: str,
                  paid_at: dt.datetime | None = None,
                  now: dt.datetime | None = None) -> TopUpResult:
    """Money into the subscriber's wallet (cash, bank transfer, a billing system), once per key;
    then it pays the accounts waiting on it, oldest expiry first."""
    authorize(actor, subscriber.reseller_id, Perm.PAYMENT_RECORD)
    now = _now(now)
    amount = validate_amount(amount)
    currency = validate_currency(currency)
    if source not in TOP_UP_SOURCES:
        raise ValidationError(f"A top-up by hand is {', '.join(TOP_UP_SOURCES)}.",
                              code="invalid_source", param="source")
    reference = _reference(reference, required=True)
    purpose_key = f"top-up:{idempotency_key_valid(idempotency_key, max_length=150)}"
    paid_at = paid_at or now
    if paid_at > now + dt.timedelta(minutes=5):
        raise ValidationError("The payment date is in the future.", code="invalid",
                              param="paid_at")
    existing = _replayed_top_up(subscriber, purpose_key, amount, currency)
    if existing is not None:
        return TopUpResult(payment=existing, created=False)
    try:
        with transaction.atomic():
            # The one lock order (the reseller first), as every renewal's: the wallet row
            # below and the rows that reference the reseller would otherwise deadlock with
            # a renewal from the wallet that holds the reseller and waits for the wallet.
            Reseller.objects.select_for_update().only("pk").get(pk=subscriber.reseller_id)
            payment = _new_attempt(
                subscriber=subscriber, account=None, source=source,
                purpose=PaymentPurpose.TOP_UP, purpose_key=purpose_key, amount=amount,
                currency=currency, state=PaymentState.SUCCEEDED, actor_label=actor.label,
                now=now, reference=reference)
            Payment.objects.filter(pk=payment.pk).update(paid_at=paid_at, applied_at=now)
            payment.paid_at, payment.applied_at = paid_at, now
            wallet_credit(actor=actor, subscriber=subscriber, currency=currency, amount=amount,
                          kind=WalletEntryKind.TOP_UP, idempotency_key=payment.idempotency_key,
                          reference=reference, payment=payment, now=now)
            audit_record(actor=actor, reseller_id=subscriber.reseller_id,
                         action="payment.top_up", obj=payment,
                         after={"amount": amount, "currency": currency, "source": source,
                                "reference": reference}, now=now)
            publish(catalogue.PAYMENT_SUCCEEDED.event(
                reseller_id=payment.reseller_id, livemode=payment.livemode,
                payload=_payload(payment, now, dedupe=PaymentState.SUCCEEDED)))
    except IntegrityError:
        existing = _replayed_top_up(subscriber, purpose_key, amount, currency)
        if existing is None:
            raise
        return TopUpResult(payment=existing, created=False)
    paid = wallet_pay_waiting(subscriber, currency=currency, now=now)
    return TopUpResult(payment=payment, created=True, paid_accounts=paid)


def _replayed_top_up(subscriber: Subscriber, purpose_key: str, amount: int,
                     currency: str) -> Payment | None:
    existing = Payment.objects.filter(reseller_id=subscriber.reseller_id,
                                      purpose_key=purpose_key).first()
    if existing is None:
        return None
    if (existing.subscriber_id, existing.amount, existing.currency) != (
            subscriber.pk, amount, currency):
        raise IdempotencyKeyReused("This idempotency key was used for another top-up.",
                                   param="idempotency_key")
    return existing


def waiting_on_wallet(subscriber: Subscriber, *, currency: str,
                      now: dt.datetime) -> list[ServiceAccount]:
    """The accounts a top-up in `currency` pays for first, oldest expiry first: auto-renew on,
    renewal source wallet, and in grace, suspended for an unpaid renewal, or due within the
    renewal lead time."""
    lead = (SubscriptionSettings.objects.filter(reseller_id=subscriber.reseller_id)
            .values_list("renewal_lead_days", flat=True).first())
    lead_days = 3 if lead is None else lead
    unpaid = DunningCase.objects.filter(status=DunningStatus.OPEN).values("account_id")
    return list(
        ServiceAccount.objects.filter(subscriber=subscriber, auto_renew=True,
                                      renewal_source=PaymentSource.WALLET, currency=currency)
        .filter(Q(status=AccountStatus.GRACE)
                | Q(status=AccountStatus.SUSPENDED, pk__in=unpaid)
                | Q(status=AccountStatus.ACTIVE,
                    expires_at__lte=now + dt.timedelta(days=lead_days)))
        .select_related("plan", "next_plan", "subscriber").order_by("expires_at", "pk"))


def wallet_pay_waiting(subscriber: Subscriber, *, currency: str,
                       now: dt.datetime) -> list[tuple[int, str]]:
    """Pay the accounts waiting on the wallet, oldest first, stopping at the first it cannot
    pay (as the credits' pending queue does). Each renewal is the sweep's: same key."""
    done: list[tuple[int, str]] = []
    for account in waiting_on_wallet(subscriber, currency=currency, now=now):
        if account.expires_at is None:
            continue
        collection = wallet_collect(account, months=account.renewal_period_months,
                                    purpose_key=collection_key(account, account.expires_at),
                                    now=now)
        if not collection.ok or collection.payment_id is None:
            break
        payment = Payment.objects.get(pk=collection.payment_id)
        done.append((account.pk, payment_apply(payment, now=now)))
    return done


def payment_record_manual(*, actor: Actor, subscriber: Subscriber, amount: int, currency: str,
                          source: str, reference: str, idempotency_key: str,
                          paid_at: dt.datetime | None = None,
                          account: ServiceAccount | None = None, months: int | None = None,
                          now: dt.datetime | None = None) -> TopUpResult:
    """Cash or a bank transfer recorded by billing staff.

    With an account and months, it pays that renewal at once (`currency_not_offered`
    if the plan has no price in the currency); without, the money goes into the
    wallet, which pays whatever waits on it. The same receipt either way.
    """
    if source not in MANUAL_SOURCES:
        raise ValidationError("A payment by hand is cash or a bank transfer.",
                              code="invalid_source", param="source")
    if account is None or months is None:
        if months is not None:
            raise ValidationError("Renewing needs an account.", code="required",
                                  param="account")
        return wallet_top_up(actor=actor, subscriber=subscriber, amount=amount,
                             currency=currency, source=source, reference=reference,
                             idempotency_key=idempotency_key, paid_at=paid_at, now=now)
    authorize(actor, subscriber.reseller_id, Perm.PAYMENT_RECORD)
    authorize(actor, subscriber.reseller_id, Perm.ACCOUNT_RENEW)
    now = _now(now)
    if account.subscriber_id != subscriber.pk:
        raise NotFound("No such account.", code="account_not_found", param="account")
    amount = validate_amount(amount)
    currency = validate_currency(currency)
    reference = _reference(reference, required=True)
    paid_at = paid_at or now
    if paid_at > now + dt.timedelta(minutes=5):
        raise ValidationError("The payment date is in the future.", code="invalid",
                              param="paid_at")
    plan = account.next_plan or account.plan
    credits_for(plan, months)
    if not PlanPrice.objects.filter(plan=plan, currency=currency).exists():
        raise ValidationError(f"The {plan.name} plan has no price in {currency}.",
                              code="currency_not_offered", param="currency")
    purpose_key = f"manual:{idempotency_key_valid(idempotency_key, max_length=150)}"
    existing = Payment.objects.filter(reseller_id=subscriber.reseller_id,
                                      purpose_key=purpose_key).first()
    if existing is not None:
        if (existing.account_id, existing.amount, existing.currency) != (account.pk, amount,
                                                                          currency):
            raise IdempotencyKeyReused("This idempotency key was used for another payment.",
                                       param="idempotency_key")
        return TopUpResult(payment=existing, created=False)
    with transaction.atomic():
        payment = _new_attempt(
            subscriber=subscriber, account=account, source=source,
            purpose=PaymentPurpose.RENEWAL, purpose_key=purpose_key, amount=amount,
            currency=currency, state=PaymentState.SUCCEEDED, actor_label=actor.label, now=now,
            months=months, period=account.expires_at, reference=reference)
        renewal = account_renew(actor=actor, account=account, months=months,
                                reference=reference, idempotency_key=f"payment:{payment.pk}",
                                now=now)
        Payment.objects.filter(pk=payment.pk).update(paid_at=paid_at, applied_at=now)
        payment.paid_at, payment.applied_at = paid_at, now
        audit_record(actor=actor, reseller_id=subscriber.reseller_id, action="payment.record",
                     obj=payment, after={"account": account.pk, "amount": amount,
                                         "currency": currency, "source": source,
                                         "reference": reference, "months": months,
                                         "renewal_queued": renewal.queued}, now=now)
        publish(catalogue.PAYMENT_SUCCEEDED.event(
            reseller_id=payment.reseller_id, livemode=payment.livemode,
            payload=_payload(payment, now, dedupe=PaymentState.SUCCEEDED)))
        publish(catalogue.ACCOUNT_PAYMENT_RECEIVED.event(
            reseller_id=payment.reseller_id, livemode=payment.livemode,
            payload=catalogue.PaymentReceived(
                account_id=account.pk, now=now.isoformat(), dedupe_key=f"receipt:payment:"
                f"{payment.pk}", amount=amount, currency=currency,
                amount_display=money_format(amount, currency))))
    return TopUpResult(payment=payment, created=True,
                       paid_accounts=[(account.pk,
                                       "renewal_queued" if renewal.queued else "renewed")])


# ---------------------------------------------------------------- refunds


def payment_refund(*, actor: Actor, payment: Payment, amount: int, idempotency_key: str,
                   destination: str | None = None, reason: str = "", shorten: bool = False,
                   now: dt.datetime | None = None) -> Refund:
    """Give back up to what is left of a payment. The account keeps its period. Refused
    while a payment for the account is in flight (`payment_in_progress`).

    Where the money goes: a card payment back to the card through Stripe (or, for a
    renewal, into the wallet); a renewal paid by wallet, cash or transfer into the wallet
    or outside the panel (handed back by the reseller). A top-up's refund takes the money
    out of the wallet again (`insufficient_wallet_balance` when it was spent), back to
    the card or outside the panel.

    With `shorten`, the refund of a renewal's whole payment also takes the months it paid
    for off the account, once the money is back (`shorten_needs_full_refund` otherwise).
    """
    authorize(actor, payment.reseller_id, Perm.PAYMENT_REFUND)
    now = _now(now)
    amount = validate_amount(amount)
    key = f"refund:{idempotency_key_valid(idempotency_key, max_length=150)}"
    destination = _refund_destination(payment, destination)
    existing = _replayed_refund(payment, key, amount, destination)
    if existing is not None:
        return existing
    try:
        refund = _refund_reserve(actor=actor, payment=payment, amount=amount, key=key,
                                 destination=destination, reason=reason, shorten=shorten,
                                 now=now)
    except IntegrityError:
        # The same key at the same moment: the other request wrote it.
        existing = _replayed_refund(payment, key, amount, destination)
        if existing is None:
            raise
        return existing
    if refund.state == RefundState.SUCCEEDED:
        return refund
    return _refund_at_stripe(refund, now=now)


def refund_destinations(payment: Payment) -> list[str]:
    """Where a refund of this payment may go, the default first.

    A card payment back to the card (or, for a renewal, into the wallet); a renewal paid
    from the wallet into the wallet; one paid in cash or by transfer into the wallet or
    handed back outside the panel. A top-up's money leaves the wallet again: back to the
    card, or handed back outside the panel.
    """
    if payment.source == PaymentSource.WALLET:
        return [RefundDestination.WALLET.value]
    if payment.purpose == PaymentPurpose.TOP_UP:
        return [RefundDestination.CARD.value if payment.source == PaymentSource.CARD
                else RefundDestination.OUTSIDE.value]
    if payment.source == PaymentSource.CARD:
        return [RefundDestination.CARD.value, RefundDestination.WALLET.value]
    return [RefundDestination.WALLET.value, RefundDestination.OUTSIDE.value]


def _refund_destination(payment: Payment, destination: str | None) -> str:
    allowed = refund_destinations(payment)
    if destination is None:
        return allowed[0]
    if destination not in RefundDestination.values:
        raise ValidationError("A refund goes to the card, to the wallet or outside the panel.",
                              code="invalid", param="destination")
    if destination not in allowed:
        raise ValidationError(
            f"This payment is refunded {' or '.join(allowed)}, not {destination}.",
            code="refund_destination_invalid", param="destination")
    return destination


def _replayed_refund(payment: Payment, key: str, amount: int, destination: str) -> Refund | None:
    existing = Refund.objects.filter(reseller_id=payment.reseller_id,
                                     idempotency_key=key).first()
    if existing is not None and (existing.payment_id, existing.amount,
                                 existing.destination) != (payment.pk, amount, destination):
        raise IdempotencyKeyReused("This idempotency key was used for another refund.",
                                   param="idempotency_key")
    return existing


def _refund_reserve(*, actor: Actor, payment: Payment, amount: int, key: str, destination: str,
                    reason: str, shorten: bool, now: dt.datetime) -> Refund:
    """The refund row and the amount reserved on the payment; a refund that moves no money
    through Stripe is settled here too."""
    with transaction.atomic():
        # The reseller first, as in wallet_top_up: a refund to the wallet moves its row.
        Reseller.objects.select_for_update().only("pk").get(pk=payment.reseller_id)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.account_id is not None and _in_flight_for_account(locked.account_id):
            raise StateConflict(
                "A payment for this account is in progress; try again when it has finished.",
                code="payment_in_progress", param="payment")
        if locked.state not in PAID:
            raise StateConflict(f"A payment that is {locked.state} cannot be refunded.",
                                code="payment_not_refundable", param="payment")
        left = locked.amount - locked.refunded_amount
        if amount > left:
            raise ValidationError(
                f"At most {money_format(left, locked.currency)} is left to refund.",
                code="refund_exceeds_payment", param="amount")
        if shorten:
            authorize(actor, locked.reseller_id, Perm.ACCOUNT_RENEW)
            if (locked.purpose != PaymentPurpose.RENEWAL or not locked.months
                    or amount != locked.amount or locked.refunded_amount):
                raise ValidationError(
                    "Only the refund of a whole renewal payment takes its months off the "
                    "account.", code="shorten_needs_full_refund", param="shorten")
        refund = Refund.objects.create(
            reseller_id=locked.reseller_id, payment=locked, livemode=locked.livemode,
            amount=amount, currency=locked.currency, destination=destination,
            idempotency_key=key, reason=(reason or "")[:500], actor_label=actor.label,
            shortened_account=shorten, created_at=now, updated_at=now)
        # Reserved now, so two refunds at once never give back more than was paid.
        Payment.objects.filter(pk=locked.pk).update(refunded_amount=F("refunded_amount") + amount)
        audit_record(actor=actor, reseller_id=locked.reseller_id, action="payment.refund",
                     obj=locked, after={"amount": amount, "destination": destination,
                                        "reason": reason, "refund": refund.pk}, now=now)
        if locked.purpose == PaymentPurpose.TOP_UP:
            # The money leaves the wallet it went into (refused if it was spent).
            wallet_adjust(actor=actor, subscriber=locked.subscriber, currency=locked.currency,
                          delta=-amount, idempotency_key=key, now=now,
                          reason=f"Refund {refund.pk} of the top-up "
                                 f"{locked.reference or locked.pk}")
        elif destination == RefundDestination.WALLET:
            wallet_credit(actor=actor, subscriber=locked.subscriber, currency=locked.currency,
                          amount=amount, kind=WalletEntryKind.REFUND, idempotency_key=key,
                          reason=reason, payment=locked, now=now)
        if destination != RefundDestination.CARD:
            _refund_succeeded(refund, now=now)
    return refund


def _refund_succeeded(refund: Refund, *, now: dt.datetime, stripe_id: str = "") -> None:
    with transaction.atomic():
        # The one lock order: the reseller first (shortening the account locks it too).
        Reseller.objects.select_for_update().only("pk").get(pk=refund.reseller_id)
        if not Refund.objects.filter(pk=refund.pk).exclude(state=RefundState.SUCCEEDED).update(
                state=RefundState.SUCCEEDED, stripe_refund=stripe_id or refund.stripe_refund,
                updated_at=now):
            return
        refund.state = RefundState.SUCCEEDED
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        if refund.shortened_account and payment.account is not None and payment.months:
            _shorten_for(refund, payment, payment.account, payment.months, now=now)
        done = (Refund.objects.filter(payment=payment, state=RefundState.SUCCEEDED)
                .aggregate(s=Sum("amount"))["s"]) or 0
        target = (PaymentState.REFUNDED if done >= payment.amount
                  else PaymentState.PARTIALLY_REFUNDED)
        if payment.state == target:
            # A second partial refund: its own event row and webhook, no state change.
            PaymentEvent.objects.create(payment=payment, reseller_id=payment.reseller_id,
                                        created_at=now, from_state=payment.state,
                                        to_state=payment.state, actor_label=refund.actor_label,
                                        note=f"refund {refund.pk}",
                                        data={"refund": refund.pk, "amount": refund.amount})
            publish(catalogue.PAYMENT_REFUNDED.event(
                reseller_id=payment.reseller_id, livemode=payment.livemode,
                payload=_payload(payment, now, dedupe=f"refund:{refund.pk}")))
            return
        _transition(payment, target, actor_label=refund.actor_label, now=now,
                    note=f"refund {refund.pk}", data={"refund": refund.pk,
                                                      "amount": refund.amount})


def _shorten_for(refund: Refund, payment: Payment, account: ServiceAccount, months: int, *,
                 now: dt.datetime) -> None:
    """The months a refunded renewal paid for, off the account. The money is back already:
    an account that cannot be shortened (terminated, or the period would end before it
    starts) keeps its period, and an audit row says so for staff."""
    try:
        with transaction.atomic():
            account_shorten(actor=SYSTEM, account=account, months=months,
                            reason=f"refund {refund.pk} of payment {payment.pk}", now=now)
    except DomainError as error:
        audit_record(actor=SYSTEM, reseller_id=payment.reseller_id, action="payment.refund",
                     obj=payment, after={"refund": refund.pk, "shorten": False,
                                         "why": error.message}, now=now)
        logger.warning("payments: refund %s: account %s not shortened: %s", refund.pk,
                       account.pk, error)


def _refund_released(refund: Refund, *, now: dt.datetime, message: str) -> None:
    with transaction.atomic():
        if not Refund.objects.filter(pk=refund.pk, state__in=[
                RefundState.PROCESSING, RefundState.UNKNOWN]).update(
                state=RefundState.FAILED, error_message=message[:500], updated_at=now):
            return
        refund.state = RefundState.FAILED
        Payment.objects.filter(pk=refund.payment_id).update(
            refunded_amount=F("refunded_amount") - refund.amount)
        payment = refund.payment
        if payment.purpose == PaymentPurpose.TOP_UP:
            # The wallet gets back what the refund took out of it.
            wallet_credit(actor=SYSTEM, subscriber=payment.subscriber, currency=refund.currency,
                          amount=refund.amount, kind=WalletEntryKind.REFUND,
                          idempotency_key=f"{refund.idempotency_key}:released",
                          reason=f"Refund {refund.pk} failed: {message}"[:500], payment=payment,
                          now=now)


def _refund_at_stripe(refund: Refund, *, now: dt.datetime) -> Refund:
    payment = refund.payment
    keys = _keys(payment)
    if keys is None or not payment.stripe_payment_intent:
        _refund_released(refund, now=now, message="No Stripe keys or charge to refund.")
        return refund
    try:
        made = stripe_api.refund_create(keys, payment_intent=payment.stripe_payment_intent,
                                        amount=refund.amount,
                                        idempotency_key=refund.idempotency_key,
                                        metadata={"refund": str(refund.pk),
                                                  "payment": str(payment.pk)})
    except stripe_api.StripeUnavailable as error:
        Refund.objects.filter(pk=refund.pk, state=RefundState.PROCESSING).update(
            state=RefundState.UNKNOWN, error_message=str(error)[:500], updated_at=now)
        refund.state = RefundState.UNKNOWN
        return refund
    except (stripe_api.StripeDeclined, stripe_api.StripeRejected) as error:
        _refund_released(refund, now=now, message=error.message)
        return refund
    if getattr(made, "status", "succeeded") in ("failed", "canceled"):
        _refund_released(refund, now=now, message=f"Stripe: refund {made.status}")
        return refund
    _refund_succeeded(refund, now=now, stripe_id=str(made.id))
    return refund


def refund_recorded_at_stripe(payment: Payment, *, stripe_refund_id: str, amount: int,
                              now: dt.datetime) -> Refund | None:
    """A refund made in Stripe's own dashboard (charge.refunded): recorded once by its id."""
    key = f"stripe:{stripe_refund_id}"
    if Refund.objects.filter(reseller_id=payment.reseller_id, stripe_refund=stripe_refund_id
                             ).exists():
        return None
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = min(amount, locked.amount - locked.refunded_amount)
        if amount <= 0 or locked.state not in PAID:
            return None
        refund, created = Refund.objects.get_or_create(
            reseller_id=locked.reseller_id, idempotency_key=key,
            defaults={"payment": locked, "livemode": locked.livemode, "amount": amount,
                      "currency": locked.currency, "destination": RefundDestination.CARD,
                      "stripe_refund": stripe_refund_id, "actor_label": "Stripe",
                      "reason": "refunded in Stripe", "created_at": now, "updated_at": now})
        if not created:
            return None
        Payment.objects.filter(pk=locked.pk).update(refunded_amount=F("refunded_amount") + amount)
        _refund_succeeded(refund, now=now, stripe_id=stripe_refund_id)
    return refund
