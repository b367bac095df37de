"""Notification settings, per-reseller templates and the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core import crypto

if TYPE_CHECKING:
    from .rendering import Rendered


class Event(models.TextChoices):
    WELCOME = "welcome", "Welcome (with credentials)"
    RENEWAL_REMINDER = "renewal_reminder", "Renewal reminder"
    EXPIRED = "expired", "Expired"
    SUSPENDED = "suspended", "Suspended"
    REACTIVATED = "reactivated", "Reactivated"
    TERMINATED = "terminated", "Terminated"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    PAYMENT_RECEIPT = "payment_receipt", "Payment receipt"
    PAYMENT_ACTION_REQUIRED = "payment_action_required", "Payment needs confirming"
    TOP_UP_RECEIPT = "top_up_receipt", "Wallet top-up receipt"
    REFUND_ISSUED = "refund_issued", "Refund issued"
    PAYMENT_DISPUTED = "payment_disputed", "Payment disputed (to the reseller)"
    CREDIT_FLOOR = "credit_floor", "Credit floor reached (to the reseller)"
    PENDING_CREDITS = "pending_credits", "Waiting for credits (to the reseller)"
    TEST = "test", "Test email"


class Delivery(models.TextChoices):
    NONE = "none", "Not configured"
    PANEL = "panel", "The panel's own email backend (EMAIL_BACKEND)"
    SMTP = "smtp", "SMTP server"
    ESP = "esp", "Email service (django-anymail)"


class SmtpSecurity(models.TextChoices):
    NONE = "none", "None"
    STARTTLS = "starttls", "STARTTLS"
    SSL = "ssl", "SSL/TLS"


# Email services django-anymail supports with one API key, by the name of their
# backend module, and the name anymail gives that key.
ESP_KEY_NAMES = {
    "brevo": "api_key",
    "mailersend": "api_token",
    "mailgun": "api_key",
    "mandrill": "api_key",
    "postmark": "server_token",
    "resend": "api_key",
    "sparkpost": "api_key",
}
ESP_CHOICES = [(name, name.capitalize()) for name in ESP_KEY_NAMES]


class NotificationSettings(models.Model):
    reseller = models.OneToOneField(
        "accounts.Reseller", on_delete=models.CASCADE, related_name="notification_settings"
    )
    disabled_events = models.JSONField(default=list, blank=True)
    sender_name = models.CharField(max_length=120, blank=True)
    sender_email = models.EmailField(blank=True)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.NONE)
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_username = models.CharField(max_length=255, blank=True)
    smtp_password_encrypted = models.TextField(blank=True, editable=False)
    smtp_security = models.CharField(
        max_length=10, choices=SmtpSecurity.choices, default=SmtpSecurity.STARTTLS
    )
    esp_name = models.CharField(max_length=30, choices=ESP_CHOICES, blank=True)
    esp_api_key_encrypted = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(smtp_port__gte=1, smtp_port__lte=65535),
                name="notification_settings_smtp_port_range",
            ),
            models.CheckConstraint(
                condition=Q(delivery__in=[d.value for d in Delivery]),
                name="notification_settings_delivery_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification settings of {self.reseller_id}"

    @property
    def smtp_password(self) -> str:
        return crypto.decrypt(self.smtp_password_encrypted) if self.smtp_password_encrypted else ""

    @property
    def esp_api_key(self) -> str:
        return crypto.decrypt(self.esp_api_key_encrypted) if self.esp_api_key_encrypted else ""

    def event_enabled(self, event: str) -> bool:
        return event not in (self.disabled_events or [])


class NotificationTemplate(models.Model):
    """A reseller's own version of one event's email (Django template syntax)."""

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.CASCADE, related_name="notification_templates"
    )
    event = models.CharField(max_length=30, choices=Event.choices)
    # One version per language: a subscriber gets the one in its language, else the
    # panel's default in that language (see rendering.template_sources).
    language = models.CharField(max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE)
    subject = models.CharField(max_length=255)
    text = models.TextField()
    html = models.TextField(blank=True, help_text="Empty: the text, laid out in the default page.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reseller", "event", "language"],
                                    name="template_once_per_event_language"),
        ]

    def __str__(self) -> str:
        return f"{self.event} [{self.language}] ({self.reseller_id})"


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    NOT_SENT_NO_EMAIL_BACKEND = "not_sent_no_email_backend", "Not sent: no email delivery set up"
    STALE = "stale", "Not sent: too late to be useful"
    DISABLED = "disabled", "Not sent: event turned off"
    UNKNOWN = "unknown", "Outcome unknown (worker stopped while sending)"
    DISCARDED = "discarded", "Not sent: discarded by the reseller"


class OutboxMessage(models.Model):
    """One email to send, delivered by a worker.

    The event leaves what the email says (its context) and the subject; the
    body is rendered from them when the row is delivered, then kept as sent.
    """

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.CASCADE, related_name="+")
    livemode = models.BooleanField(default=True)
    event = models.CharField(max_length=30, choices=Event.choices)
    # The effect's unique key: one row per (reseller, key), whatever retries happen.
    dedupe_key = models.CharField(max_length=200)
    account = models.ForeignKey(
        "subscriptions.ServiceAccount", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="notifications",
    )
    recipient = models.CharField(max_length=1000)
    subject = models.CharField(max_length=255)
    # The language the email is written in: the subscriber's, or the reseller's for its own.
    # db_default too: bench/sweep.py writes rows in SQL.
    language = models.CharField(max_length=10, choices=settings.LANGUAGES,
                                default=settings.LANGUAGE_CODE, db_default=settings.LANGUAGE_CODE)
    # Bodies are encrypted: a welcome email carries the service password.
    text_encrypted = models.TextField(blank=True)
    html_encrypted = models.TextField(blank=True)
    # The template context (JSON, encrypted) until the body is rendered; then empty.
    context_encrypted = models.TextField(blank=True, default="")
    status = models.CharField(max_length=30, choices=OutboxStatus.choices,
                              default=OutboxStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # Who threw away an email held while delivery was not set up (the actor's label, kept
    # if the user goes; the user too when it was one), and when.
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.CharField(max_length=200, blank=True)
    discarded_by_user = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reseller", "dedupe_key"], name="outbox_dedupe_key"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OutboxStatus]),
                name="outbox_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.SENT) | Q(sent_at__isnull=False),
                name="outbox_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=OutboxStatus.DISCARDED)
                | (Q(discarded_at__isnull=False) & ~Q(discarded_by="")),
                name="outbox_discarded_has_who_and_when",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["reseller", "livemode", "-created_at"]),
            models.Index(fields=["account", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.recipient} ({self.status})"

    def _content(self) -> Rendered:
        from .rendering import render_message

        return render_message(self, time_zone=self.reseller.timezone)

    @property
    def text(self) -> str:
        """The text body as sent, or as it will be sent (rendered now) when not yet delivered."""
        if self.context_encrypted:
            return self._content().text
        return crypto.decrypt(self.text_encrypted)

    @property
    def html(self) -> str:
        """The HTML part: the reseller's own, or the text in the default layout."""
        from .rendering import layout_html

        if self.context_encrypted:
            content = self._content()
            return content.html or layout_html(content.subject, content.text, self.language)
        if self.html_encrypted:
            return crypto.decrypt(self.html_encrypted)
        return layout_html(self.subject, self.text, self.language)
