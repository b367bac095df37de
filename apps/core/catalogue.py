"""Every domain event, defined once: its name, its payload, and the webhook it becomes.

A publisher builds the event from its type and a payload dataclass
(`ACCOUNT_RENEWED.event(reseller_id=..., livemode=..., payload=AccountChanged(...))`);
a consumer reads the payload back as that dataclass (`ACCOUNT_RENEWED.read(event)`),
so the keys a consumer relies on are the fields written here. On the way
through `publish` the payload is a plain dict (JSON-friendly: ids and values,
times as ISO 8601 strings), which is what outbox rows and webhooks store.

`webhook` is the event's public name for integrators (None: not sent out),
and `public` the payload fields a webhook shows (None: all of them). The
payments and invoices apps add their events here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .events import DomainEvent

# ---------------------------------------------------------------- payloads


@dataclass(frozen=True)
class Payload:
    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AccountChanged(Payload):
    """An account event row (apps.subscriptions' AccountEvent) was written."""

    account_id: int
    subscriber_id: int
    # The AccountEvent row: emails about this change are keyed on it.
    event_id: int
    from_status: str
    to_status: str
    # When it happened (the service's `now`), ISO 8601.
    now: str


@dataclass(frozen=True)
class ActivationQueued(Payload):
    """A new account waits in the pending queue for credits."""

    account_id: int
    subscriber_id: int
    event_id: int
    # What the activation will cost when credits arrive.
    credits: int
    now: str


@dataclass(frozen=True)
class ReminderDue(Payload):
    """The sweep: an account's period ends in `offset_days` days."""

    account_id: int
    offset_days: int
    now: str
    # One reminder per account, period and offset.
    dedupe_key: str


@dataclass(frozen=True)
class PaymentFailed(Payload):
    """A renewal's collection failed (a dunning case opened), or its reminder is due."""

    account_id: int
    now: str
    error: str
    dedupe_key: str
    # Where the subscriber fixes the card or pays ("" when nothing to do there).
    action_url: str = ""


@dataclass(frozen=True)
class PaymentReceived(Payload):
    """A renewal's collection took money: the subscriber's receipt."""

    account_id: int
    now: str
    dedupe_key: str
    # Integer minor units of `currency`, and the same amount as people read it.
    amount: int
    currency: str
    amount_display: str


@dataclass(frozen=True)
class PaymentRecorded(Payload):
    """An outside billing system (WHMCS) told the API a payment was taken."""

    payment_id: int
    account_id: int
    amount: int
    currency: str
    reference: str
    # "completed" or "queued" (waiting for credits).
    renewal: str


@dataclass(frozen=True)
class PaymentChanged(Payload):
    """A payment through the panel (card, wallet, cash, bank transfer) changed state."""

    payment_id: int
    subscriber_id: int
    # None for a wallet top-up.
    account_id: int | None
    source: str
    purpose: str
    state: str
    amount: int
    currency: str
    refunded_amount: int
    now: str
    # One email per payment and outcome.
    dedupe_key: str
    amount_display: str = ""
    # What the subscriber must do (authenticate, fix the card): a link, or "".
    action_url: str = ""
    error: str = ""


@dataclass(frozen=True)
class PaymentDisputed(Payload):
    """The cardholder disputed a charge at the bank (Stripe's charge.dispute.created)."""

    payment_id: int
    subscriber_id: int
    account_id: int | None
    amount: int
    currency: str
    reason: str
    now: str
    dedupe_key: str


@dataclass(frozen=True)
class CreditFloor(Payload):
    """The sweep: the reseller's credit balance is at or below its floor."""

    balance: int
    floor: int
    # Which crossing of the floor this is: one alert per crossing and recipient.
    crossing: int
    recipients: list[str]
    needed_7_days: int
    needed_30_days: int
    now: str


@dataclass(frozen=True)
class CreditsArrived(Payload):
    """Credits arrived (a grant, a refund, a positive adjustment): whoever waits may go on."""

    now: str


# ---------------------------------------------------------------- event types

P = TypeVar("P", bound=Payload)


@dataclass(frozen=True)
class EventType(Generic[P]):
    name: str
    payload: type[P]
    webhook: str | None = None
    public: tuple[str, ...] | None = None

    def event(self, *, reseller_id: int, livemode: bool, payload: P) -> DomainEvent:
        if type(payload) is not self.payload:
            raise TypeError(f"{self.name} carries {self.payload.__name__}, "
                            f"not {type(payload).__name__}")
        return DomainEvent(name=self.name, reseller_id=reseller_id, livemode=livemode,
                           payload=payload.as_dict())

    def read(self, event: DomainEvent) -> P:
        if event.name != self.name:
            raise ValueError(f"{event.name} is not {self.name}")
        return self.payload(**event.payload)

    def public_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """What an integrator sees of the payload: no recipients, no internal keys."""
        if self.public is None:
            return dict(payload)
        return {key: payload[key] for key in self.public if key in payload}


ACCOUNT_CREATED = EventType("account.created", AccountChanged, webhook="account.created")
ACCOUNT_ACTIVATED = EventType("account.activated", AccountChanged, webhook="account.activated")
ACCOUNT_RENEWED = EventType("account.renewed", AccountChanged, webhook="account.renewed")
ACCOUNT_RENEWAL_QUEUED = EventType("account.renewal_queued", AccountChanged)
ACCOUNT_EXPIRED = EventType("account.expired", AccountChanged)
ACCOUNT_SUSPENDED = EventType("account.suspended", AccountChanged, webhook="account.suspended")
ACCOUNT_UNSUSPENDED = EventType("account.unsuspended", AccountChanged,
                                webhook="account.unsuspended")
ACCOUNT_TERMINATED = EventType("account.terminated", AccountChanged,
                               webhook="account.terminated")
ACCOUNT_PLAN_CHANGED = EventType("account.plan_changed", AccountChanged)
ACCOUNT_PLAN_CHANGE_SCHEDULED = EventType("account.plan_change_scheduled", AccountChanged)
ACCOUNT_AUTO_RENEW_CHANGED = EventType("account.auto_renew_changed", AccountChanged)
ACCOUNT_PASSWORD_RESET = EventType("account.password_reset", AccountChanged)
# A refund took back the months it paid for.
ACCOUNT_SHORTENED = EventType("account.shortened", AccountChanged)
ACCOUNT_ACTIVATION_QUEUED = EventType("account.activation_queued", ActivationQueued)
ACCOUNT_REMINDER_DUE = EventType("account.reminder_due", ReminderDue,
                                 webhook="account.expiring", public=("account_id", "offset_days"))
ACCOUNT_PAYMENT_FAILED = EventType("account.payment_failed", PaymentFailed)
ACCOUNT_PAYMENT_RECEIVED = EventType("account.payment_received", PaymentReceived)
PAYMENT_RECORDED = EventType("payment.recorded", PaymentRecorded, webhook="payment.recorded")
PAYMENT_SUCCEEDED = EventType("payment.succeeded", PaymentChanged, webhook="payment.succeeded",
                              public=("payment_id", "subscriber_id", "account_id", "source",
                                      "purpose", "state", "amount", "currency"))
PAYMENT_FAILED = EventType("payment.failed", PaymentChanged, webhook="payment.failed",
                           public=("payment_id", "subscriber_id", "account_id", "source",
                                   "purpose", "state", "amount", "currency", "error"))
# The card needs the subscriber (3-D Secure): an email with the link, no webhook.
PAYMENT_ACTION_REQUIRED = EventType("payment.action_required", PaymentChanged)
PAYMENT_REFUNDED = EventType("payment.refunded", PaymentChanged, webhook="payment.refunded",
                             public=("payment_id", "subscriber_id", "account_id", "source",
                                     "purpose", "state", "amount", "currency",
                                     "refunded_amount"))
PAYMENT_DISPUTED = EventType("payment.disputed", PaymentDisputed)
RESELLER_CREDIT_FLOOR = EventType(
    "reseller.credit_floor", CreditFloor, webhook="credits.low",
    public=("balance", "floor", "needed_7_days", "needed_30_days"),
)
CREDITS_ARRIVED = EventType("credits.arrived", CreditsArrived)

_ALL: list[EventType[Any]] = [
    ACCOUNT_CREATED, ACCOUNT_ACTIVATED, ACCOUNT_RENEWED, ACCOUNT_RENEWAL_QUEUED,
    ACCOUNT_EXPIRED, ACCOUNT_SUSPENDED, ACCOUNT_UNSUSPENDED, ACCOUNT_TERMINATED,
    ACCOUNT_PLAN_CHANGED, ACCOUNT_PLAN_CHANGE_SCHEDULED, ACCOUNT_AUTO_RENEW_CHANGED,
    ACCOUNT_PASSWORD_RESET, ACCOUNT_SHORTENED, ACCOUNT_ACTIVATION_QUEUED, ACCOUNT_REMINDER_DUE,
    ACCOUNT_PAYMENT_FAILED, ACCOUNT_PAYMENT_RECEIVED, PAYMENT_RECORDED,
    PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_ACTION_REQUIRED, PAYMENT_REFUNDED,
    PAYMENT_DISPUTED, RESELLER_CREDIT_FLOOR, CREDITS_ARRIVED,
]
EVENT_TYPES: dict[str, EventType[Any]] = {t.name: t for t in _ALL}
# The public webhook names, in the order integrators see them listed.
WEBHOOK_TYPES: dict[str, EventType[Any]] = {
    t.webhook: t for t in EVENT_TYPES.values() if t.webhook is not None
}


def webhook_name_of(event: DomainEvent) -> str | None:
    """The webhook a domain event becomes, or None."""
    found = EVENT_TYPES.get(event.name)
    return None if found is None else found.webhook
