"""What support knows about a subscriber beyond billing: notes, interactions, devices.

Every row carries its reseller, like every tenant row; the subscriber's own
reseller must match (checked by the services, which read it from the subscriber).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Note(models.Model):
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="crm_notes"
    )
    body = models.TextField()
    pinned = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    author_label = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-pinned", "-created_at", "-id"]
        indexes = [models.Index(fields=["subscriber", "-pinned", "-created_at"])]

    def __str__(self) -> str:
        return self.body[:40]


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    CHAT = "chat", "Chat"
    WHATSAPP = "whatsapp", "WhatsApp"
    OTHER = "other", "Other"


class InteractionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class SupportInteraction(models.Model):
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="support_interactions"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    subject = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=InteractionStatus.choices, default=InteractionStatus.OPEN
    )
    resolution = models.TextField(blank=True)
    created_by_label = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=[c.value for c in Channel]), name="crm_interaction_channel"
            ),
            models.CheckConstraint(
                condition=Q(status=InteractionStatus.OPEN, resolved_at__isnull=True)
                | (Q(status=InteractionStatus.RESOLVED, resolved_at__isnull=False)
                   & ~Q(resolution="")),
                name="crm_interaction_resolved_has_resolution",
            ),
        ]
        indexes = [models.Index(fields=["subscriber", "-created_at"])]

    def __str__(self) -> str:
        return self.subject


class Device(models.Model):
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    subscriber = models.ForeignKey(
        "subscriptions.Subscriber", on_delete=models.CASCADE, related_name="devices"
    )
    account = models.ForeignKey(
        "subscriptions.ServiceAccount", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="devices",
    )
    device_type = models.CharField(max_length=60)
    app = models.CharField(max_length=100, blank=True)
    device_id = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["subscriber"])]

    def __str__(self) -> str:
        return f"{self.device_type} {self.device_id}"


class AccountFollowUp(models.Model):
    """The weekly review's note on an account and the "contacted" mark.

    The mark belongs to one period: it is kept with the expiry it was made
    for, so a renewed account shows as not yet contacted for its new expiry.
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    account = models.OneToOneField(
        "subscriptions.ServiceAccount", on_delete=models.CASCADE, related_name="follow_up"
    )
    note = models.TextField(blank=True)
    contacted_at = models.DateTimeField(null=True, blank=True)
    contacted_for_expiry = models.DateTimeField(null=True, blank=True)
    contacted_by_label = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "account follow-up"
        verbose_name_plural = "account follow-ups"

    def __str__(self) -> str:
        return f"follow-up of account {self.account_id}"
