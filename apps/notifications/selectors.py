"""Reads the dashboard and the API share about settings and the outbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.subscriptions.models import ServiceAccount, SubscriptionSettings
from apps.subscriptions.selectors import subscription_settings_for

from .models import Event, NotificationSettings, OutboxMessage, OutboxStatus
from .services import backlog_rows, delivery_configured, notification_settings_for


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
    """What the dashboard banner says when email cannot go out, or waits for the reseller.

    `kind`: `not_configured` (no delivery), `failed` (rows failed), or `waiting` (delivery
    works, and emails held before it did wait to be sent or discarded).
    """

    message: str
    held_messages: int
    failed_messages: int
    kind: str = "not_configured"


def email_delivery_warning(reseller: Reseller, *, actor: Actor) -> EmailDeliveryWarning | None:
    """None when email works and nothing waits; otherwise the loud warning and how many
    emails wait (held, not discarded) or failed. Live rows only: test mail is the reseller's."""
    authorize(actor, reseller, Perm.VIEW)
    config = notification_settings_for(reseller.pk)
    counts = OutboxMessage.objects.filter(
        reseller=reseller, livemode=True,
        status__in=[OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND, OutboxStatus.FAILED],
    ).aggregate(held=Count("id", filter=Q(status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND)),
                failed=Count("id", filter=Q(status=OutboxStatus.FAILED)))
    held, failed = int(counts["held"]), int(counts["failed"])
    if not delivery_configured(config):
        return EmailDeliveryWarning(
            message=(f"No email delivery is configured: {held} "
                     + ("email to your subscribers was" if held == 1
                        else "emails to your subscribers were")
                     + " not sent. Set up SMTP or an email service, then send a test email."),
            held_messages=held, failed_messages=failed,
        )
    if failed:
        return EmailDeliveryWarning(
            message=f"{failed} email{'' if failed == 1 else 's'} failed to send: see the outbox "
                    "for the server's error.",
            held_messages=held, failed_messages=failed, kind="failed",
        )
    if held:
        return EmailDeliveryWarning(
            message=(f"{held} email{'' if held == 1 else 's'} written before email delivery "
                     f"was set up {'is' if held == 1 else 'are'} waiting: send or discard "
                     "in the notification settings."),
            held_messages=held, failed_messages=0, kind="waiting",
        )
    return None


DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class BacklogKind:
    """The held emails of one event, by age."""

    event: str
    label: str
    under_1_day: int
    from_1_to_7_days: int
    older: int

    @property
    def total(self) -> int:
        return self.under_1_day + self.from_1_to_7_days + self.older


@dataclass(frozen=True)
class EmailBacklog:
    """The emails held while no delivery was set up, waiting for the reseller's choice.

    `as_of` is when it was counted: the actions act on rows written up to then only.
    """

    as_of: dt.datetime
    kinds: list[BacklogKind]
    oldest_at: dt.datetime | None
    delivery_configured: bool

    @property
    def total(self) -> int:
        return sum(kind.total for kind in self.kinds)

    @property
    def under_1_day(self) -> int:
        return sum(kind.under_1_day for kind in self.kinds)

    @property
    def from_1_to_7_days(self) -> int:
        return sum(kind.from_1_to_7_days for kind in self.kinds)

    @property
    def older(self) -> int:
        return sum(kind.older for kind in self.kinds)

    @property
    def oldest_age_days(self) -> int | None:
        return (self.as_of - self.oldest_at).days if self.oldest_at is not None else None

    @property
    def with_passwords(self) -> int:
        """Welcome emails: they carry the service password."""
        return sum(kind.total for kind in self.kinds if kind.event == Event.WELCOME)


def email_backlog(
    reseller: Reseller, *, actor: Actor, now: dt.datetime | None = None
) -> EmailBacklog:
    """The held emails by event and age (under a day, one to seven days, older) and the
    oldest one's time, in one query whatever their number. Both modes: test-mode mail
    waits too (it goes to the reseller)."""
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    rows = (OutboxMessage.objects
            .filter(reseller=reseller, status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND,
                    created_at__lte=now)
            .values("event")
            .annotate(under_1_day=Count("id", filter=Q(created_at__gt=now - DAY)),
                      from_1_to_7_days=Count("id", filter=Q(created_at__lte=now - DAY,
                                                            created_at__gt=now - WEEK)),
                      older=Count("id", filter=Q(created_at__lte=now - WEEK)),
                      oldest=Min("created_at"))
            .order_by("event"))
    labels = dict(Event.choices)
    kinds = []
    oldest: dt.datetime | None = None
    for row in rows:
        kinds.append(BacklogKind(event=row["event"], label=str(labels.get(row["event"], row["event"])),
                                 under_1_day=row["under_1_day"],
                                 from_1_to_7_days=row["from_1_to_7_days"], older=row["older"]))
        if oldest is None or row["oldest"] < oldest:
            oldest = row["oldest"]
    kinds.sort(key=lambda kind: (-kind.total, kind.event))
    return EmailBacklog(as_of=now, kinds=kinds, oldest_at=oldest,
                        delivery_configured=delivery_configured(
                            notification_settings_for(reseller.pk)))


@dataclass(frozen=True)
class BacklogChoice:
    """How many held emails one backlog action would touch, and how many of them carry a
    password (welcome emails): what the confirmation says."""

    total: int
    with_passwords: int


def email_backlog_choice(
    reseller: Reseller, *, actor: Actor, as_of: dt.datetime, newer_than_days: int | None = None,
    older_than_days: int | None = None, now: dt.datetime | None = None,
) -> BacklogChoice:
    """The held emails written up to `as_of` and, when given, in the last `newer_than_days`
    days or before the last `older_than_days` days (the same rows the services act on)."""
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    rows = backlog_rows(reseller, now=now, as_of=as_of, newer_than_days=newer_than_days,
                        older_than_days=older_than_days)
    counts = rows.aggregate(total=Count("id"),
                            with_passwords=Count("id", filter=Q(event=Event.WELCOME)))
    return BacklogChoice(total=int(counts["total"]), with_passwords=int(counts["with_passwords"]))


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
