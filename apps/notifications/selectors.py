"""Reads the dashboard and the API share about settings and the outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.subscriptions.models import ServiceAccount, SubscriptionSettings
from apps.subscriptions.selectors import subscription_settings_for

from .models import NotificationSettings, OutboxMessage, OutboxStatus
from .services import delivery_configured, notification_settings_for


@dataclass(frozen=True)
class ResellerSettings:
    """Everything the lifecycle and the email of one reseller run on. Secrets are never here."""

    reminder_offsets: list[int]
    grace_hours: int
    termination_after_days: int
    dunning_reminder_days: int
    dunning_suspend_days: int
    dunning_terminate_days: int
    renewal_lead_days: int
    credit_floor: int
    low_credit_recipients: list[str]
    reactivation_policy: str
    timezone: str
    disabled_events: list[str]
    sender_name: str
    sender_email: str
    delivery: str
    smtp_host: str
    smtp_port: int
    smtp_username: str
    smtp_password_set: bool
    smtp_security: str
    esp_name: str
    esp_api_key_set: bool
    email_delivery_configured: bool


def reseller_settings_get(reseller: Reseller, *, actor: Actor) -> ResellerSettings:
    """The subscription and notification settings of a reseller, read together."""
    authorize(actor, reseller, Perm.VIEW)
    sub: SubscriptionSettings = subscription_settings_for(reseller)
    note: NotificationSettings = notification_settings_for(reseller.pk)
    return ResellerSettings(
        reminder_offsets=sorted({int(d) for d in sub.reminder_offsets}, reverse=True),
        grace_hours=sub.grace_hours,
        termination_after_days=sub.termination_after_days,
        dunning_reminder_days=sub.dunning_reminder_days,
        dunning_suspend_days=sub.dunning_suspend_days,
        dunning_terminate_days=sub.dunning_terminate_days,
        renewal_lead_days=sub.renewal_lead_days,
        credit_floor=sub.credit_floor,
        low_credit_recipients=[a.strip() for a in sub.low_credit_recipients.split(",")
                               if a.strip()],
        reactivation_policy=reseller.reactivation_policy,
        timezone=reseller.timezone,
        disabled_events=list(note.disabled_events or []),
        sender_name=note.sender_name,
        sender_email=note.sender_email,
        delivery=note.delivery,
        smtp_host=note.smtp_host,
        smtp_port=note.smtp_port,
        smtp_username=note.smtp_username,
        smtp_password_set=bool(note.smtp_password_encrypted),
        smtp_security=note.smtp_security,
        esp_name=note.esp_name,
        esp_api_key_set=bool(note.esp_api_key_encrypted),
        email_delivery_configured=delivery_configured(note),
    )


@dataclass(frozen=True)
class EmailDeliveryWarning:
    """What the dashboard banner says when email cannot go out."""

    message: str
    held_messages: int
    failed_messages: int


def email_delivery_warning(reseller: Reseller, *, actor: Actor) -> EmailDeliveryWarning | None:
    """None when email works; otherwise the loud warning and how many emails wait or failed."""
    authorize(actor, reseller, Perm.VIEW)
    config = notification_settings_for(reseller.pk)
    rows = OutboxMessage.objects.filter(reseller=reseller, livemode=True)
    held = rows.filter(status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND).count()
    if not delivery_configured(config):
        return EmailDeliveryWarning(
            message=(f"No email delivery is configured: {held} "
                     + ("email to your subscribers was" if held == 1
                        else "emails to your subscribers were")
                     + " not sent. Set up SMTP or an email service, then send a test email."),
            held_messages=held, failed_messages=rows.filter(status=OutboxStatus.FAILED).count(),
        )
    failed = rows.filter(status=OutboxStatus.FAILED).count()
    if failed:
        return EmailDeliveryWarning(
            message=f"{failed} email{'' if failed == 1 else 's'} failed to send: see the outbox "
                    "for the server's error.",
            held_messages=held, failed_messages=failed,
        )
    return None


def outbox_list(
    reseller: Reseller, *, actor: Actor, livemode: bool = True, status: str | None = None,
    since: dt.datetime | None = None,
) -> QuerySet[OutboxMessage]:
    authorize(actor, reseller, Perm.VIEW)
    rows = OutboxMessage.objects.filter(reseller=reseller, livemode=livemode)
    if status:
        rows = rows.filter(status=status)
    if since:
        rows = rows.filter(created_at__gte=since)
    return rows.select_related("account").order_by("-created_at", "-id")


def with_last_notification(accounts: QuerySet[ServiceAccount]) -> QuerySet[ServiceAccount]:
    """`accounts` (the renewal queue, say), each with its last email: `last_notification_event`,
    `last_notification_status` and `last_notification_at`, in the same query."""
    latest = OutboxMessage.objects.filter(account=OuterRef("pk")).order_by("-created_at", "-id")
    return accounts.annotate(
        last_notification_event=Subquery(latest.values("event")[:1]),
        last_notification_status=Subquery(latest.values("status")[:1]),
        last_notification_at=Subquery(latest.values("created_at")[:1]),
    )
