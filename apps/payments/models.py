"""Money taken from subscribers: today the payments recorded from an outside billing system."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.currencies import CURRENCY_CHOICES
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
