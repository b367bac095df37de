"""The domain-event consumer that turns events into outbox rows.

Listed in settings.DOMAIN_EVENT_CONSUMERS; runs inside the transaction that
published the event, so an email exists exactly when its event committed.
Test-mode (livemode=False) accounts never email a subscriber: their emails go
to the reseller's own contact address, marked [TEST].
A subscriber's email is in the subscriber's language (a test-mode one too: it shows
what the subscriber would get); the reseller's own (waiting for credits, credit floor,
a disputed payment) in the reseller's.
Payment events are about a subscriber, with an account or without one (a wallet
top-up); their emails are keyed on the payload's `dedupe_key`, one per payment and
outcome (and per refund).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.accounts.models import Reseller, Role, StaffMembership
from apps.core import catalogue, crypto
from apps.core.dates import zone_named
from apps.core.events import DomainEvent, memoized, recall
from apps.core.money import money_format
from apps.payments.models import PaymentPurpose
from apps.subscriptions.models import (
    AccountEvent,
    ServiceAccount,
    Subscriber,
    SubscriptionSettings,
)

from .models import Event
from .services import outbox_enqueue

# Account events and the email each one sends to the subscriber.
ACCOUNT_EVENTS = {
    catalogue.ACCOUNT_ACTIVATED.name: Event.WELCOME,
    catalogue.ACCOUNT_REMINDER_DUE.name: Event.RENEWAL_REMINDER,
    catalogue.ACCOUNT_EXPIRED.name: Event.EXPIRED,
    catalogue.ACCOUNT_SUSPENDED.name: Event.SUSPENDED,
    catalogue.ACCOUNT_UNSUSPENDED.name: Event.REACTIVATED,
    catalogue.ACCOUNT_TERMINATED.name: Event.TERMINATED,
    catalogue.ACCOUNT_PAYMENT_FAILED.name: Event.PAYMENT_FAILED,
    catalogue.ACCOUNT_PAYMENT_RECEIVED.name: Event.PAYMENT_RECEIPT,
}
# Payment events and the email each one sends to the subscriber (a succeeded payment: only
# a top-up's; a renewal's receipt is account.payment_received's).
PAYMENT_EVENTS: dict[str, tuple[catalogue.EventType[catalogue.PaymentChanged], str]] = {
    event_type.name: (event_type, kind) for event_type, kind in (
        (catalogue.PAYMENT_ACTION_REQUIRED, Event.PAYMENT_ACTION_REQUIRED),
        (catalogue.PAYMENT_SUCCEEDED, Event.TOP_UP_RECEIPT),
        (catalogue.PAYMENT_REFUNDED, Event.REFUND_ISSUED),
    )
}
PENDING_CREDITS_EVENTS = {catalogue.ACCOUNT_RENEWAL_QUEUED.name: "renewal",
                          catalogue.ACCOUNT_ACTIVATION_QUEUED.name: "activation"}


def _local(moment: dt.datetime | None, zone: dt.tzinfo) -> dt.datetime | None:
    return moment.astimezone(zone) if moment is not None else None


def account_email_context(account: ServiceAccount, reseller: Reseller) -> dict[str, Any]:
    """The context every email about an account shares (the dashboard's resend uses it too)."""
    zone = zone_named(reseller.timezone)
    return {
        "reseller_name": reseller.name,
        "reseller_email": reseller.contact_email,
        "subscriber_name": account.subscriber.name,
        "username": account.username,
        "plan_name": account.plan.name,
        "expires_at": _local(account.expires_at, zone),
        "auto_renew": account.auto_renew,
    }


def _grace_hours(reseller_id: int) -> int:
    found = memoized(("grace_hours", reseller_id), lambda: SubscriptionSettings.objects.filter(
        reseller_id=reseller_id).values_list("grace_hours", flat=True).first())
    return 48 if found is None else int(found)


def _load_account(account_id: int) -> ServiceAccount:
    # An account the publisher holds (with its subscriber, plan and reseller): see remember.
    held: ServiceAccount | None = recall(("account", account_id))
    if held is not None:
        return held
    return ServiceAccount.objects.select_related("subscriber", "plan", "reseller").get(
        pk=account_id
    )


def _recipient(account: ServiceAccount, reseller: Reseller) -> str:
    # A test account's mail goes to the reseller itself, never to a real subscriber.
    return account.subscriber.email if account.livemode else reseller.contact_email


def _event_time(payload: dict[str, Any]) -> dt.datetime:
    """When the event happened: the services' `now`, which tests and the sweep move."""
    if payload.get("now"):
        return dt.datetime.fromisoformat(payload["now"])
    if payload.get("event_id"):
        at = AccountEvent.objects.filter(pk=payload["event_id"]).values_list(
            "created_at", flat=True
        ).first()
        if at is not None:
            return at
    return timezone.now()


def on_domain_event(event: DomainEvent) -> None:
    name = event.name
    payload = event.payload
    now = _event_time(payload)
    if (name == catalogue.ACCOUNT_RENEWED.name
            and catalogue.ACCOUNT_RENEWED.read(event).from_status in ("grace", "suspended")):
        kind: str | None = Event.REACTIVATED
    elif name in PENDING_CREDITS_EVENTS:
        _pending_credits(event, now)
        return
    elif name == catalogue.RESELLER_CREDIT_FLOOR.name:
        _credit_floor(event, catalogue.RESELLER_CREDIT_FLOOR.read(event), now)
        return
    elif name in PAYMENT_EVENTS:
        event_type, payment_kind = PAYMENT_EVENTS[name]
        _payment_changed(event, event_type.read(event), payment_kind, now)
        return
    elif name == catalogue.PAYMENT_DISPUTED.name:
        _payment_disputed(event, catalogue.PAYMENT_DISPUTED.read(event), now)
        return
    else:
        kind = ACCOUNT_EVENTS.get(name)
    if kind is None or "account_id" not in payload:
        return
    account = _load_account(payload["account_id"])
    reseller = account.reseller
    context = account_email_context(account, reseller)
    # The effect's key: the account event row when there is one, else what the publisher says.
    key = payload.get("dedupe_key") or f"event:{payload.get('event_id')}"
    if kind == Event.WELCOME:
        context["password"] = crypto.decrypt(account.password_encrypted)
    elif kind == Event.RENEWAL_REMINDER:
        context["days_left"] = catalogue.ACCOUNT_REMINDER_DUE.read(event).offset_days
    elif kind == Event.EXPIRED and account.expires_at is not None:
        context["grace_ends_at"] = _local(
            account.expires_at + dt.timedelta(hours=_grace_hours(reseller.pk)), zone_named(reseller.timezone)
        )
    elif kind == Event.PAYMENT_FAILED:
        failed = catalogue.ACCOUNT_PAYMENT_FAILED.read(event)
        context.update(error=failed.error, action_url=failed.action_url)
    elif kind == Event.PAYMENT_RECEIPT:
        received = catalogue.ACCOUNT_PAYMENT_RECEIVED.read(event)
        # The figures, so that the amount is formatted in the email's language when it is
        # rendered (rendering.with_amount); `amount` as of now for the subject.
        context.update(amount_minor=received.amount, currency=received.currency,
                       amount=money_format(received.amount, received.currency))
    outbox_enqueue(
        reseller=reseller, livemode=account.livemode, event=kind,
        dedupe_key=f"{kind}:{key}", recipient=_recipient(account, reseller), context=context,
        account_id=account.pk, language=account.subscriber.language, now=now,
    )


def _pending_credits(event: DomainEvent, now: dt.datetime) -> None:
    account = ServiceAccount.objects.select_related("subscriber", "plan", "reseller").get(
        pk=event.payload["account_id"]
    )
    reseller = account.reseller
    data = AccountEvent.objects.filter(pk=event.payload.get("event_id") or 0).values_list(
        "data", flat=True
    ).first() or {}
    operation = account.pending_operations.filter(status="waiting").first()
    context = {
        **account_email_context(account, reseller),
        "operation": PENDING_CREDITS_EVENTS[event.name],
        "credits_needed": operation.credits if operation else data.get("credits", 0),
        "balance": reseller.balance(livemode=account.livemode),
    }
    outbox_enqueue(
        reseller=reseller, livemode=account.livemode, event=Event.PENDING_CREDITS,
        dedupe_key=f"{Event.PENDING_CREDITS}:event:{event.payload.get('event_id')}",
        recipient=reseller.contact_email, context=context, account_id=account.pk, now=now,
    )


def _credit_floor(event: DomainEvent, floor: catalogue.CreditFloor, now: dt.datetime) -> None:
    reseller = Reseller.objects.get(pk=event.reseller_id)
    recipients = floor.recipients or [reseller.contact_email]
    context = {
        "reseller_name": reseller.name,
        "reseller_email": reseller.contact_email,
        "balance": floor.balance,
        "floor": floor.floor,
        "needed_7_days": floor.needed_7_days,
        "needed_30_days": floor.needed_30_days,
    }
    for recipient in recipients:
        outbox_enqueue(
            reseller=reseller, livemode=event.livemode, event=Event.CREDIT_FLOOR,
            dedupe_key=f"{Event.CREDIT_FLOOR}:{floor.crossing}:{recipient}",
            recipient=recipient, context=context, now=now,
        )


# ---------------------------------------------------------------- payments


def _amounts(amount: int, currency: str) -> dict[str, Any]:
    # The figures, formatted in the email's language when it is rendered
    # (rendering.with_amount); `amount` as of now for the subject.
    return {"amount_minor": amount, "currency": currency,
            "amount": money_format(amount, currency)}


def _about_subscriber(
    event: DomainEvent, subscriber_id: int, account_id: int | None,
) -> tuple[Subscriber, ServiceAccount | None, dict[str, Any]] | None:
    """The subscriber a payment event is about, its account if it names one, and the
    context of their emails: the account's when there is one. None when the event names
    another reseller's subscriber (a bug, but not one to undo the payment for)."""
    subscriber = Subscriber.objects.select_related("reseller").filter(
        pk=subscriber_id, reseller_id=event.reseller_id).first()
    if subscriber is None:
        return None
    reseller = subscriber.reseller
    account = None
    if account_id is not None:
        account = _load_account(account_id)
        if account.reseller_id != event.reseller_id:
            return None
    if account is not None:
        return subscriber, account, account_email_context(account, reseller)
    return subscriber, None, {"reseller_name": reseller.name,
                              "reseller_email": reseller.contact_email,
                              "subscriber_name": subscriber.name}


def _payment_changed(event: DomainEvent, changed: catalogue.PaymentChanged, kind: str,
                     now: dt.datetime) -> None:
    if kind == Event.TOP_UP_RECEIPT and changed.purpose != PaymentPurpose.TOP_UP:
        return
    found = _about_subscriber(event, changed.subscriber_id, changed.account_id)
    if found is None:
        return
    subscriber, account, context = found
    reseller = subscriber.reseller
    context.update(_amounts(changed.amount, changed.currency))
    if kind == Event.PAYMENT_ACTION_REQUIRED:
        context["action_url"] = changed.action_url
    elif kind == Event.REFUND_ISSUED:
        context.update(refunded_amount_minor=changed.refunded_amount,
                       refunded_amount=money_format(changed.refunded_amount, changed.currency))
    # A test payment's mail goes to the reseller itself, in the subscriber's language.
    live = event.livemode and subscriber.livemode
    outbox_enqueue(
        reseller=reseller, livemode=event.livemode, event=kind,
        dedupe_key=f"{kind}:{changed.dedupe_key}",
        recipient=subscriber.email if live else reseller.contact_email, context=context,
        account_id=account.pk if account is not None else None, language=subscriber.language,
        now=now,
    )


def reseller_alert_recipients(reseller: Reseller) -> list[str]:
    """Who hears of what needs the reseller's attention: its contact address and its
    owners, each address once."""
    owners = StaffMembership.objects.filter(
        reseller=reseller, role=Role.OWNER, user__is_active=True,
    ).order_by("pk").values_list("user__email", flat=True)
    recipients: dict[str, str] = {}
    for address in (reseller.contact_email, *owners):
        if address:
            recipients.setdefault(address.lower(), address)
    return list(recipients.values())


def _payment_disputed(event: DomainEvent, disputed: catalogue.PaymentDisputed,
                      now: dt.datetime) -> None:
    found = _about_subscriber(event, disputed.subscriber_id, disputed.account_id)
    if found is None:
        return
    subscriber, account, context = found
    reseller = subscriber.reseller
    context.update(_amounts(disputed.amount, disputed.currency), reason=disputed.reason)
    for recipient in reseller_alert_recipients(reseller):
        outbox_enqueue(
            reseller=reseller, livemode=event.livemode, event=Event.PAYMENT_DISPUTED,
            dedupe_key=f"{Event.PAYMENT_DISPUTED}:{disputed.dedupe_key}:{recipient}",
            recipient=recipient, context=context,
            account_id=account.pk if account is not None else None, now=now,
        )
