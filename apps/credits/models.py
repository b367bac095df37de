from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.currencies import CURRENCY_CHOICES
from apps.core.models import AppendOnlyModel


class EntryKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase"
    ACTIVATION = "activation", "Activation"
    RENEWAL = "renewal", "Renewal"
    PLAN_CHANGE = "plan_change", "Plan change"
    REFUND = "refund", "Refund"
    ADJUSTMENT = "adjustment", "Adjustment"
    REVERSAL = "reversal", "Reversal"


INCOMING = [EntryKind.PURCHASE, EntryKind.REFUND]
OUTGOING = [EntryKind.ACTIVATION, EntryKind.RENEWAL, EntryKind.PLAN_CHANGE]
SIGNED = [EntryKind.ADJUSTMENT, EntryKind.REVERSAL]


class CreditLedgerEntry(AppendOnlyModel):
    """One credit movement. Never updated, never deleted: a correction is a new row.

    Per reseller and mode, `balance_after` chains: each row's balance_after is
    the previous row's plus its delta, and the last one equals the cached
    balance on the reseller row.
    """

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    livemode = models.BooleanField(default=True)
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=200)
    reference = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    # What the reseller paid the provider for a purchase, in minor units.
    price_amount = models.BigIntegerField(null=True, blank=True)
    price_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.PROTECT, null=True, blank=True,
        related_name="ledger_entries",
    )
    account = models.ForeignKey(
        "subscriptions.ServiceAccount", on_delete=models.PROTECT, null=True, blank=True,
        related_name="ledger_entries",
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_type = models.CharField(max_length=10)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_api_key_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        verbose_name = "credit ledger entry"
        verbose_name_plural = "credit ledger"
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "idempotency_key"], name="ledger_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_gte_0"),
            models.CheckConstraint(
                condition=(
                    Q(kind__in=INCOMING, delta__gt=0)
                    | Q(kind__in=OUTGOING, delta__lt=0)
                    | (Q(kind__in=SIGNED) & ~Q(delta=0))
                ),
                name="ledger_delta_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True)
                | Q(price_amount__gte=0, kind=EntryKind.PURCHASE),
                name="ledger_price_only_on_purchase",
            ),
            models.CheckConstraint(
                condition=Q(price_amount__isnull=True) | ~Q(price_currency=""),
                name="ledger_price_has_currency",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.ADJUSTMENT) | ~Q(reason=""),
                name="ledger_adjustment_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind=EntryKind.PURCHASE) | ~Q(reference=""),
                name="ledger_purchase_has_reference",
            ),
        ]
        indexes = [
            models.Index(fields=["reseller", "livemode", "-id"]),
            models.Index(fields=["reseller", "livemode", "kind", "-id"]),
            # The dashboard's order (newest by time, then id), with and without a kind filter.
            models.Index(fields=["reseller", "livemode", "-created_at", "-id"],
                         name="ledger_time_order_idx"),
            models.Index(fields=["reseller", "livemode", "kind", "-created_at", "-id"],
                         name="ledger_kind_time_order_idx"),
            models.Index(fields=["subscriber", "-id"]),
            models.Index(fields=["account", "-id"]),
            # The overview's credits per day: a range of the last days, read from the index
            # alone, so its cost follows the days shown and not the ledger's whole history.
            models.Index(fields=["reseller", "livemode", "created_at"], include=["delta"],
                         name="ledger_reseller_day"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} -> {self.balance_after}"
