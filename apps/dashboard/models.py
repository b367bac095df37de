from __future__ import annotations

from django.db import models


class ResellerSecurity(models.Model):
    """Sign-in rules an owner sets for the reseller's staff."""

    reseller = models.OneToOneField(
        "accounts.Reseller", on_delete=models.CASCADE, related_name="security"
    )
    require_2fa = models.BooleanField(
        default=False, help_text="Every staff member must sign in with a second factor."
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "reseller security settings"
        verbose_name_plural = "reseller security settings"

    def __str__(self) -> str:
        return f"security of {self.reseller_id}"
