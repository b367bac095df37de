"""API keys, idempotency records and outbound webhooks."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.core.models import AppendOnlyModel


class Scope(models.TextChoices):
    ACCOUNTS_READ = "accounts:read", _("Read accounts")
    ACCOUNTS_WRITE = "accounts:write", _("Change accounts")
    SUBSCRIBERS_READ = "subscribers:read", _("Read subscribers")
    SUBSCRIBERS_WRITE = "subscribers:write", _("Change subscribers")
    PLANS_READ = "plans:read", _("Read plans")
    CREDITS_READ = "credits:read", _("Read credits")
    PAYMENTS_READ = "payments:read", _("Read payments and wallets")
    PAYMENTS_WRITE = "payments:write", _("Record payments, top up wallets, refund")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhooks")


class KeyMode(models.TextChoices):
    LIVE = "live", "Live"
    TEST = "test", "Test"


class ApiKey(models.Model):
    """A reseller's key. Only its SHA-256 is kept: the full key is shown once."""

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=KeyMode.choices)
    # "bp_live_ab12cd34": enough to recognise the key in lists and logs.
    prefix = models.CharField(max_length=20, unique=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    # IP addresses or networks (CIDR); empty means any address.
    allowed_ips = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The key this one replaced, when made by a rotation.
    rotated_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=255)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=["live", "test"]), name="api_key_mode"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def livemode(self) -> bool:
        return self.mode == KeyMode.LIVE


class IdempotencyRecord(models.Model):
    """The first response to a write sent with an Idempotency-Key, kept 24 hours."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique"),
        ]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"




class WebhookEndpoint(models.Model):
    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    livemode = models.BooleanField(default=True)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    # Deleting keeps the row (its deliveries refer to it) and hides it.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["reseller", "livemode", "deleted_at"])]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row a worker delivers, retrying with backoff."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    # Retries stop after this (three days after the event).
    give_up_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(AppendOnlyModel):
    """Each try of a delivery, with the response code (or the network error)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="log")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at}: {self.status_code or self.error}"
