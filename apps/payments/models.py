"""Money taken from subscribers: today the payments recorded from an outside billing system."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.currencies import CURRENCY_CHOICES
from apps.core.models import AppendOnlyModel
from apps.core.money import money_format


class ExternalPayment(models.Model):
    """A payment taken outside the panel (WHMCS, a bank transfer) that renewed an account."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        "subscriptions.ServiceAccount", on_delete=models.PROTECT, related_name="+"
    )
    livemode = models.BooleanField(default=True)
    amount = models.BigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    reference = models.CharField(max_length=200)
    paid_at = models.DateTimeField()
    created_at = models.DateTimeField()
    # The API key that recorded it (None: another door, such as the dashboard).
    api_key = models.ForeignKey("api.ApiKey", on_delete=models.PROTECT, null=True,
                                related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "livemode", "reference"], name="external_payment_reference"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="external_payment_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {money_format(self.amount, self.currency)}"


# ---------------------------------------------------------------- Stripe keys


class StripeKeys(models.Model):
    """A reseller's Stripe account for one mode: its keys, the secrets encrypted.

    Test-mode subscribers and accounts use the test row only, live ones the live
    row only; without a row for a mode, card payments are off in that mode.
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE,
                                 related_name="stripe_keys")
    livemode = models.BooleanField()
    publishable_key = models.CharField(max_length=255)
    secret_key_encrypted = models.TextField(editable=False)
    # The last characters of the secret key, to tell keys apart without showing them.
    secret_key_hint = models.CharField(max_length=8, blank=True)
    webhook_secret_encrypted = models.TextField(editable=False, blank=True)
    # What "Test connection" found last: the Stripe account it reached, or the error.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_result = models.CharField(max_length=255, blank=True)
    check_ok = models.BooleanField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "Stripe keys"
        verbose_name_plural = "Stripe keys"
        constraints = [
            models.UniqueConstraint(fields=["reseller", "livemode"], name="stripe_keys_per_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.reseller_id} {'live' if self.livemode else 'test'}"


# ---------------------------------------------------------------- wallets


class WalletEntryKind(models.TextChoices):
    TOP_UP = "top_up", "Top-up"
    RENEWAL_CHARGE = "renewal_charge", "Renewal charge"
    REFUND = "refund", "Refund to wallet"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"


WALLET_INCOMING = [WalletEntryKind.TOP_UP, WalletEntryKind.REFUND]
WALLET_OUTGOING = [WalletEntryKind.RENEWAL_CHARGE]
WALLET_SIGNED = [WalletEntryKind.ADJUSTMENT, WalletEntryKind.REVERSAL]


class Wallet(models.Model):
    """A subscriber's balance in one currency (minor units): the cache of its ledger.

    Moved only together with a WalletEntry row, in one statement (apps.core.ledger).
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    subscriber = models.ForeignKey("subscriptions.Subscriber", on_delete=models.PROTECT,
                                   related_name="wallets")
    livemode = models.BooleanField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    balance = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "currency"], name="wallet_per_currency"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_balance_gte_0"),
        ]

    def __str__(self) -> str:
        return money_format(self.balance, self.currency)


class WalletEntry(AppendOnlyModel):
    """One wallet movement. Never updated, never deleted: a correction is a new row.

    Per wallet, `balance_after` chains and the last one equals Wallet.balance; the
    idempotency key is unique per reseller, as in the credit ledger.
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    subscriber = models.ForeignKey("subscriptions.Subscriber", on_delete=models.PROTECT,
                                   related_name="+")
    livemode = models.BooleanField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    kind = models.CharField(max_length=20, choices=WalletEntryKind.choices)
    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=200)
    reference = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    payment = models.ForeignKey("payments.Payment", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="wallet_entries")
    account = models.ForeignKey("subscriptions.ServiceAccount", on_delete=models.PROTECT,
                                null=True, blank=True, related_name="+")
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    actor_type = models.CharField(max_length=10)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "wallet entries"
        constraints = [
            models.UniqueConstraint(fields=["reseller", "idempotency_key"],
                                    name="wallet_entry_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(balance_after__gte=0),
                                   name="wallet_entry_balance_gte_0"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=WALLET_INCOMING, delta__gt=0)
                    | Q(kind__in=WALLET_OUTGOING, delta__lt=0)
                    | (Q(kind__in=WALLET_SIGNED) & ~Q(delta=0))
                ),
                name="wallet_entry_delta_sign_matches_kind",
            ),
            models.CheckConstraint(condition=~Q(kind=WalletEntryKind.ADJUSTMENT) | ~Q(reason=""),
                                   name="wallet_adjustment_has_reason"),
        ]
        indexes = [
            models.Index(fields=["wallet", "-created_at", "-id"], name="wallet_entry_order"),
            models.Index(fields=["subscriber", "-created_at", "-id"],
                         name="wallet_entry_subscriber"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} {self.currency} -> {self.balance_after}"


# ---------------------------------------------------------------- cards


class StripeCustomer(models.Model):
    """The Stripe customer that holds a subscriber's cards (one per subscriber)."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    subscriber = models.OneToOneField("subscriptions.Subscriber", on_delete=models.PROTECT,
                                      related_name="stripe_customer")
    livemode = models.BooleanField()
    stripe_id = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reseller", "livemode", "stripe_id"],
                                    name="stripe_customer_unique"),
        ]

    def __str__(self) -> str:
        return self.stripe_id


class CardStatus(models.TextChoices):
    ENABLED = "enabled", "Enabled"
    # A payment with it failed: auto-renewal does not try it again until it is fixed.
    DISABLED = "disabled", "Disabled"
    # Removed at Stripe (payment_method.detached) or by the subscriber.
    DETACHED = "detached", "Removed"


class PaymentMethod(models.Model):
    """A saved card: Stripe's ids and what may be shown of it, never its number."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    subscriber = models.ForeignKey("subscriptions.Subscriber", on_delete=models.PROTECT,
                                   related_name="payment_methods")
    livemode = models.BooleanField()
    stripe_id = models.CharField(max_length=255)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=CardStatus.choices,
                              default=CardStatus.ENABLED)
    status_reason = models.CharField(max_length=255, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "livemode", "stripe_id"],
                                    name="payment_method_unique"),
            models.UniqueConstraint(fields=["subscriber"], condition=Q(is_default=True),
                                    name="payment_method_one_default"),
            models.CheckConstraint(condition=Q(status__in=[s.value for s in CardStatus]),
                                   name="payment_method_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


# ---------------------------------------------------------------- payments


class PaymentSource(models.TextChoices):
    CARD = "card", "Card"
    WALLET = "wallet", "Wallet"
    CASH = "cash", "Cash"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    # Told over the API by an outside billing system (a wallet top-up).
    EXTERNAL = "external", "Billing system"


class PaymentPurpose(models.TextChoices):
    # Pays for a period of an account.
    RENEWAL = "renewal", "Renewal"
    # Money into the subscriber's wallet.
    TOP_UP = "top_up", "Wallet top-up"


class PaymentState(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    REQUIRES_ACTION = "requires_action", "Needs authentication"
    # Stripe did not answer (timeout, connection): the janitor asks again.
    UNKNOWN = "unknown", "Unknown"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# No other financial operation starts on the account while one of these is open.
IN_FLIGHT = [PaymentState.PROCESSING, PaymentState.UNKNOWN]
# The money arrived (whether or not some was given back since).
PAID = [PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED]


class Payment(models.Model):
    """Money a subscriber paid (or is paying) the reseller through the panel.

    Written and committed before Stripe is called, with the idempotency key that
    Stripe gets as its Idempotency-Key: `<purpose key>:<attempt>`, where the
    purpose key says what it pays for (an account's period, a top-up's key). A
    retry of one attempt finds the first charge; a new attempt (the next day,
    with a fixed card) has the next number. The database allows one paid payment
    and one in flight per purpose.
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    subscriber = models.ForeignKey("subscriptions.Subscriber", on_delete=models.PROTECT,
                                   related_name="payments")
    account = models.ForeignKey("subscriptions.ServiceAccount", on_delete=models.PROTECT,
                                null=True, blank=True, related_name="payments")
    livemode = models.BooleanField()
    source = models.CharField(max_length=20, choices=PaymentSource.choices)
    purpose = models.CharField(max_length=20, choices=PaymentPurpose.choices)
    state = models.CharField(max_length=20, choices=PaymentState.choices,
                             default=PaymentState.PROCESSING)
    amount = models.BigIntegerField(help_text="Minor units of the currency.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    refunded_amount = models.BigIntegerField(default=0)
    purpose_key = models.CharField(max_length=200)
    attempt = models.PositiveSmallIntegerField(default=1)
    idempotency_key = models.CharField(max_length=220)
    # A renewal's period: the expiry it renews from, and for how many months.
    period_expires_at = models.DateTimeField(null=True, blank=True)
    months = models.PositiveSmallIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    payment_method = models.ForeignKey(PaymentMethod, on_delete=models.PROTECT, null=True,
                                       blank=True, related_name="payments")
    stripe_payment_intent = models.CharField(max_length=255, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    decline_code = models.CharField(max_length=60, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # When the renewal (or the top-up's wallet entry) this payment pays for was written.
    applied_at = models.DateTimeField(null=True, blank=True)
    # The cardholder disputed the charge at the bank (Stripe's charge.dispute.created).
    disputed_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    actor_label = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "idempotency_key"],
                                    name="payment_idempotency_key_unique"),
            models.UniqueConstraint(fields=["reseller", "purpose_key", "attempt"],
                                    name="payment_attempt_unique"),
            # Charged once: one paid payment per purpose, one in flight.
            models.UniqueConstraint(fields=["reseller", "purpose_key"],
                                    condition=Q(state__in=PAID), name="payment_paid_once"),
            models.UniqueConstraint(fields=["reseller", "purpose_key"],
                                    condition=Q(state__in=IN_FLIGHT),
                                    name="payment_one_in_flight"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="payment_refund_within_amount"),
            models.CheckConstraint(condition=Q(state__in=[s.value for s in PaymentState]),
                                   name="payment_state_valid"),
            models.CheckConstraint(
                condition=~Q(purpose=PaymentPurpose.RENEWAL) | Q(account__isnull=False),
                name="payment_renewal_has_account"),
        ]
        indexes = [
            models.Index(fields=["reseller", "livemode", "-created_at", "-id"],
                         name="payment_list_order"),
            models.Index(fields=["reseller", "livemode", "state", "-created_at"],
                         name="payment_state_order"),
            models.Index(fields=["subscriber", "-created_at"], name="payment_subscriber"),
            # The janitor's read: what is still open, oldest first.
            models.Index(fields=["updated_at"], condition=Q(state__in=IN_FLIGHT),
                         name="payment_in_flight"),
            models.Index(fields=["stripe_payment_intent"],
                         condition=~Q(stripe_payment_intent=""), name="payment_intent_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {money_format(self.amount, self.currency)} {self.state}"

    @property
    def refundable(self) -> int:
        return self.amount - self.refunded_amount if self.state in PAID else 0


class PaymentEvent(AppendOnlyModel):
    """The payment's history: one row per state change (and per refund)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor_label = models.CharField(max_length=255)
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["payment", "created_at"])]

    def __str__(self) -> str:
        return f"{self.payment_id} {self.from_state}->{self.to_state}"


class RefundDestination(models.TextChoices):
    CARD = "card", "To the card"
    WALLET = "wallet", "To the wallet"
    # Handed back by the reseller (cash, a bank transfer): recorded; nothing moves here.
    OUTSIDE = "outside", "Outside the panel"


class RefundState(models.TextChoices):
    PROCESSING = "processing", "Processing"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown"


class Refund(models.Model):
    """Money given back from a payment: to the card through Stripe, or to the wallet."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    livemode = models.BooleanField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    destination = models.CharField(max_length=10, choices=RefundDestination.choices)
    state = models.CharField(max_length=12, choices=RefundState.choices,
                             default=RefundState.PROCESSING)
    idempotency_key = models.CharField(max_length=200)
    stripe_refund = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    # Asked to take the months the payment paid for off the account: done when it succeeds.
    shortened_account = models.BooleanField(default=False)
    error_message = models.CharField(max_length=500, blank=True)
    actor_label = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "idempotency_key"],
                                    name="refund_idempotency_key_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{money_format(self.amount, self.currency)} {self.destination} {self.state}"


# ---------------------------------------------------------------- webhooks in


class StripeEvent(models.Model):
    """A webhook event from a reseller's Stripe account, stored once by its id."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    livemode = models.BooleanField()
    stripe_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "livemode", "stripe_id"],
                                    name="stripe_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type}"
