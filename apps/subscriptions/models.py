from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from apps.core.currencies import CURRENCY_CHOICES
from apps.core.models import AppendOnlyModel
from apps.core.money import money_format


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class Plan(models.Model):
    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="plans"
    )
    name = models.CharField(max_length=120)
    tier = models.CharField(max_length=60, blank=True)
    duration_months = models.PositiveSmallIntegerField(default=1)
    credit_cost = models.PositiveIntegerField(help_text="Credits per period of duration_months.")
    is_trial = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reseller", "duration_months", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_months__gte=1, duration_months__lte=120),
                name="plan_duration_1_to_120",
            ),
            models.CheckConstraint(condition=Q(credit_cost__gte=1), name="plan_credit_cost_gte_1"),
            models.UniqueConstraint(fields=["reseller", "name"], name="plan_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == PlanStatus.ACTIVE


class PlanPrice(models.Model):
    """What the subscriber pays for one period, in one currency (minor units)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "currency"], name="plan_price_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="plan_price_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return money_format(self.amount, self.currency)


class Subscriber(models.Model):
    # Indexed by (reseller, email) below, which serves lookups by reseller too.
    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="subscribers",
        db_index=False,
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # The language of the subscriber's emails; the reseller's when it is created without one.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    marketing_consent = models.BooleanField(default=False)
    marketing_consent_at = models.DateTimeField(null=True, blank=True)
    marketing_consent_source = models.CharField(max_length=60, blank=True)
    # The id in the billing system that owns the customer (WHMCS client id, ...).
    # NULL, not "", when absent: the unique constraint ignores NULLs.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    livemode = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "livemode", "external_id"],
                condition=Q(external_id__isnull=False),
                name="subscriber_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(marketing_consent=False) | Q(marketing_consent_at__isnull=False),
                name="subscriber_consent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["reseller", "email"]),
        ]

    def __str__(self) -> str:
        return self.name


class AccountStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    GRACE = "grace", "Grace"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


class PendingReason(models.TextChoices):
    INSUFFICIENT_CREDITS = "insufficient_credits", "Waiting for credits"


class ServiceAccount(models.Model):
    """A subscriber's service account: credentials, plan, period and status."""

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="service_accounts",
        db_index=False,
    )
    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="accounts")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    # A plan change waiting for the next renewal.
    next_plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=40)
    password_encrypted = models.TextField(editable=False)
    status = models.CharField(
        max_length=12, choices=AccountStatus.choices, default=AccountStatus.PENDING
    )
    pending_reason = models.CharField(max_length=40, choices=PendingReason.choices, blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField()
    auto_renew = models.BooleanField(default=True)
    renewal_period_months = models.PositiveSmallIntegerField(default=1)
    # Who collects the subscriber's money at auto-renewal (apps.payments.collectors):
    # `external` (a billing system renews through the API) or `complimentary`.
    renewal_source = models.CharField(max_length=30, default="external")
    # The currency the subscriber pays this account in: one its plan is priced in
    # (the reseller's base currency unless chosen at creation).
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    livemode = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expires_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "username"], name="account_username_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AccountStatus]),
                name="account_status_valid",
            ),
            # Every status has a period but pending (and terminated without ever activating).
            models.CheckConstraint(
                condition=Q(status__in=[AccountStatus.PENDING, AccountStatus.TERMINATED])
                | Q(starts_at__isnull=False, expires_at__isnull=False),
                name="account_period_set_unless_pending",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("starts_at")),
                name="account_period_positive",
            ),
            models.CheckConstraint(
                condition=Q(renewal_period_months__gte=1, renewal_period_months__lte=120),
                name="account_renewal_period_1_to_120",
            ),
        ]
        # Every index here is kept up by each account write (and the API creates
        # accounts by the hundred a second): no two serve the same reads. The
        # reseller's own lookups go through the composite ones that start with it.
        indexes = [
            models.Index(fields=["reseller", "livemode", "status", "expires_at", "id"],
                         name="account_status_keyset"),
            models.Index(fields=["status", "expires_at"]),
            # The sweep's auto-renewal read: only accounts something here renews.
            models.Index(
                fields=["reseller", "expires_at"],
                condition=Q(auto_renew=True) & ~Q(renewal_source="external"),
                name="account_auto_renew_due",
            ),
        ]

    def __str__(self) -> str:
        return self.username


class EventAction(models.TextChoices):
    CREATE = "create", "Created"
    ACTIVATE = "activate", "Activated"
    RENEW = "renew", "Renewed"
    RENEWAL_QUEUED = "renewal_queued", "Renewal waiting for credits"
    EXPIRE = "expire", "Expired (grace)"
    SUSPEND = "suspend", "Suspended"
    UNSUSPEND = "unsuspend", "Unsuspended"
    TERMINATE = "terminate", "Terminated"
    CHANGE_PLAN = "change_plan", "Plan changed"
    SCHEDULE_PLAN_CHANGE = "schedule_plan_change", "Plan change scheduled"
    SET_AUTO_RENEW = "set_auto_renew", "Auto-renew changed"
    SET_RENEWAL = "set_renewal", "Renewal period or source changed"
    SHORTEN = "shorten", "Period shortened (refund)"
    RESET_PASSWORD = "reset_password", "Password reset"


class AccountEvent(AppendOnlyModel):
    """The account's history: one row per accepted transition or change."""

    account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, related_name="events")
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    action = models.CharField(max_length=30, choices=EventAction.choices)
    actor_type = models.CharField(max_length=10)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    old_expires_at = models.DateTimeField(null=True, blank=True)
    new_expires_at = models.DateTimeField(null=True, blank=True)
    credits_moved = models.IntegerField(default=0, help_text="Signed: a deduction is negative.")
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["account", "created_at"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.action} {self.from_status}->{self.to_status}"


class OperationKind(models.TextChoices):
    ACTIVATE = "activate", "Activation"
    RENEW = "renew", "Renewal"


class OperationStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for credits"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class PendingOperation(models.Model):
    """An activation or renewal waiting for credits; the queue drains oldest first."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(
        ServiceAccount, on_delete=models.PROTECT, related_name="pending_operations"
    )
    livemode = models.BooleanField(default=True)
    kind = models.CharField(max_length=10, choices=OperationKind.choices)
    months = models.PositiveSmallIntegerField()
    credits = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=OperationStatus.choices, default=OperationStatus.WAITING
    )
    reference = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    requested_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            # One waiting operation per account: a second request is refused, not stacked.
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status=OperationStatus.WAITING),
                name="pending_operation_one_waiting_per_account",
            ),
            models.CheckConstraint(condition=Q(months__gte=1), name="pending_operation_months"),
            models.CheckConstraint(condition=Q(credits__gte=1), name="pending_operation_credits"),
        ]
        indexes = [models.Index(fields=["reseller", "livemode", "status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of account {self.account_id} ({self.status})"


# ---------------------------------------------------------------- lifecycle automation


def default_reminder_offsets() -> list[int]:
    return [7, 3, 1, 0]


MAX_REMINDER_OFFSET_DAYS = 60


class SubscriptionSettings(models.Model):
    """How the renewal sweep treats one reseller's accounts.

    The reactivation policy and the timezone live on the Reseller row; the
    selector `apps.notifications.selectors.reseller_settings_get` reads them
    together with these.
    """

    reseller = models.OneToOneField(
        "accounts.Reseller", on_delete=models.CASCADE, related_name="subscription_settings"
    )
    reminder_offsets = models.JSONField(
        default=default_reminder_offsets,
        help_text="Days before expiry a reminder goes out (0 = on expiry day), 0 to 60.",
    )
    grace_hours = models.PositiveIntegerField(default=48)
    termination_after_days = models.PositiveIntegerField(
        default=30, help_text="Days from suspension to termination."
    )
    dunning_reminder_days = models.PositiveSmallIntegerField(
        default=1, help_text="Days after a failed payment before the payment reminder."
    )
    dunning_suspend_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days after a failed payment before suspension."
    )
    dunning_terminate_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days after a failed payment before termination."
    )
    renewal_lead_days = models.PositiveSmallIntegerField(
        default=3, help_text="Days before expiry the auto-renewal collects."
    )
    credit_floor = models.PositiveIntegerField(
        default=0, help_text="Alert when the credit balance falls below this (0: never)."
    )
    low_credit_recipients = models.TextField(
        blank=True,
        help_text="Comma-separated addresses for the credit-floor alert "
        "(empty: the reseller's contact address).",
    )
    # State, not a setting: set when the alert went out, cleared when the
    # balance is back at or above the floor (armed again).
    credit_floor_alerted = models.BooleanField(default=False, editable=False)
    credit_floor_crossings = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "subscription settings"
        verbose_name_plural = "subscription settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(grace_hours__lte=24 * 366), name="subscription_settings_grace_range"
            ),
            models.CheckConstraint(
                condition=Q(renewal_lead_days__lte=MAX_REMINDER_OFFSET_DAYS),
                name="subscription_settings_lead_range",
            ),
            models.CheckConstraint(
                condition=Q(dunning_reminder_days__lte=models.F("dunning_suspend_days"))
                & Q(dunning_suspend_days__lte=models.F("dunning_terminate_days")),
                name="subscription_settings_dunning_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Subscription settings of {self.reseller_id}"


class ReminderLog(models.Model):
    """One renewal reminder per account, period (its expiry) and offset: the unique key."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="reminders"
    )
    period_expires_at = models.DateTimeField()
    offset_days = models.PositiveSmallIntegerField()
    livemode = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_expires_at", "offset_days"],
                name="reminder_once_per_period_offset",
            ),
        ]
        indexes = [models.Index(fields=["reseller", "period_expires_at"])]

    def __str__(self) -> str:
        return f"reminder {self.offset_days}d for {self.account_id}"


class DunningStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved (paid)"
    CLOSED = "closed", "Closed (account ended)"


class DunningCase(models.Model):
    """A failed auto-renewal collection for one period, and what the rules did about it."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(
        ServiceAccount, on_delete=models.CASCADE, related_name="dunning_cases"
    )
    livemode = models.BooleanField(default=True)
    period_expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=DunningStatus.choices, default=DunningStatus.OPEN
    )
    opened_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)
    last_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period_expires_at"], name="dunning_once_per_period"
            ),
        ]
        indexes = [models.Index(fields=["reseller", "status"])]

    def __str__(self) -> str:
        return f"dunning {self.account_id} ({self.status})"
