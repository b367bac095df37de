"""Notification settings, templates, the outbox and its delivery.

Consumers write outbox rows inside the transaction of the event; a Celery
task delivers them later. A row is claimed (`skip_locked`) and marked
`sending` in its own transaction before anything goes out, so no row is ever
sent twice: a worker that dies mid-send leaves it `unknown`, never resent.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import smtplib
from dataclasses import dataclass, field, replace
from email.utils import make_msgid
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.dates import zone_named
from apps.core.db import insert_instance, insert_rows
from apps.core.errors import ValidationError
from apps.core.events import batch_for, memoized
from apps.core.validation import whole_number

from .models import (
    ESP_CHOICES,
    ESP_KEY_NAMES,
    Delivery,
    Event,
    NotificationSettings,
    NotificationTemplate,
    OutboxMessage,
    OutboxStatus,
    SmtpSecurity,
)
from .rendering import (
    context_seal,
    layout_html,
    render_event,
    render_message,
    render_subject,
    template_check,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 60
# A reminder that could not go out within a day says something no longer true.
STALE_AFTER = dt.timedelta(days=1)
STALE_EVENTS = frozenset({Event.RENEWAL_REMINDER})
# A row left `sending` this long was interrupted mid-send: never resent.
SENDING_TIMEOUT = dt.timedelta(minutes=15)
SMTP_TIMEOUT_SECONDS = 15
SETTINGS_FIELDS = [
    "disabled_events", "sender_name", "sender_email", "delivery", "smtp_host", "smtp_port",
    "smtp_username", "smtp_security", "esp_name",
]


# ---------------------------------------------------------------- settings


def notification_settings_for(reseller_id: int) -> NotificationSettings:
    """The reseller's settings row, or the defaults (nothing configured) when it has none."""
    found = NotificationSettings.objects.filter(reseller_id=reseller_id).first()
    return found or NotificationSettings(reseller_id=reseller_id)


def delivery_configured(config: NotificationSettings) -> bool:
    if config.delivery == Delivery.SMTP:
        return bool(config.smtp_host)
    if config.delivery == Delivery.ESP:
        return bool(config.esp_name and config.esp_api_key_encrypted)
    return config.delivery == Delivery.PANEL


def notification_settings_validate(values: dict[str, Any]) -> None:
    """A clear error for the first bad value; shared by the service and the admin form."""
    sender = values.get("sender_email") or ""
    if sender:
        try:
            validate_email(sender)
        except DjangoValidationError:
            raise ValidationError(f"{sender!r} is not an email address.", code="invalid_email",
                                  param="sender_email") from None
    port = values.get("smtp_port", 587)
    whole_number(port, field="smtp_port", minimum=1, maximum=65535, code="invalid_port",
                 message="The SMTP port is a whole number from 1 to 65535.")
    delivery = values.get("delivery", Delivery.NONE)
    if delivery not in Delivery.values:
        raise ValidationError(f"Delivery is one of {', '.join(Delivery.values)}.",
                              code="invalid", param="delivery")
    if values.get("smtp_security", SmtpSecurity.STARTTLS) not in SmtpSecurity.values:
        raise ValidationError("Unknown SMTP security.", code="invalid", param="smtp_security")
    if delivery == Delivery.SMTP and not (values.get("smtp_host") or "").strip():
        raise ValidationError("SMTP delivery needs a host.", code="required", param="smtp_host")
    esp = values.get("esp_name") or ""
    if esp and esp not in dict(ESP_CHOICES):
        raise ValidationError(f"{esp!r} is not a supported email service.", code="invalid",
                              param="esp_name")
    if delivery == Delivery.ESP and not esp:
        raise ValidationError("Choose the email service.", code="required", param="esp_name")
    unknown = set(values.get("disabled_events") or []) - set(Event.values)
    if unknown:
        raise ValidationError(f"Unknown events: {', '.join(sorted(unknown))}.", code="invalid",
                              param="disabled_events")


def notification_settings_update(
    *,
    actor: Actor,
    reseller: Reseller,
    smtp_password: str | None = None,
    esp_api_key: str | None = None,
    now: dt.datetime | None = None,
    **values: Any,
) -> NotificationSettings:
    """Change the settings; None for a secret keeps the stored one.

    Emails held while delivery was not set up stay held when it starts working: the
    reseller sends them, the recent ones, or discards them (outbox_backlog_send,
    outbox_backlog_discard), never all at once without a word.
    """
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    now = now or timezone.now()
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    with transaction.atomic():
        config, _ = NotificationSettings.objects.select_for_update().get_or_create(
            reseller=reseller
        )
        before = snapshot(config, SETTINGS_FIELDS)
        merged = {**before, **values}
        notification_settings_validate(merged)
        if merged["delivery"] == Delivery.ESP and not (esp_api_key or config.esp_api_key_encrypted):
            raise ValidationError("The email service needs its API key.", code="required",
                                  param="esp_api_key")
        for field, value in values.items():
            setattr(config, field, value)
        if smtp_password is not None:
            config.smtp_password_encrypted = crypto.encrypt(smtp_password) if smtp_password else ""
        if esp_api_key is not None:
            config.esp_api_key_encrypted = crypto.encrypt(esp_api_key) if esp_api_key else ""
        config.save()
        # Secrets are never in the audit trail; that they changed is.
        after = {**snapshot(config, SETTINGS_FIELDS),
                 "smtp_password_changed": smtp_password is not None,
                 "esp_api_key_changed": esp_api_key is not None}
        audit_record(actor=actor, reseller_id=reseller.pk, action="notifications.settings",
                     obj=config, before=before, after=after, now=now)
    return config


def notification_template_save(
    *,
    actor: Actor,
    reseller: Reseller,
    event: str,
    subject: str,
    text: str,
    html: str = "",
    language: str | None = None,
    now: dt.datetime | None = None,
) -> NotificationTemplate:
    """Save the reseller's version of an event's email in `language` (the reseller's when
    None); one that does not render is refused."""
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    language = language or reseller.language
    template_check(event=event, subject=subject, text=text, html=html, language=language)
    with transaction.atomic():
        template, created = NotificationTemplate.objects.update_or_create(
            reseller=reseller, event=event, language=language,
            defaults={"subject": subject, "text": text, "html": html},
        )
        audit_record(actor=actor, reseller_id=reseller.pk,
                     action="notifications.template_save", obj=template,
                     after={"event": event, "language": language, "created": created}, now=now)
    return template


# ---------------------------------------------------------------- the outbox


@dataclass
class OutboxBatch:
    """The emails of a `publishing_many(batched=True)` block (a batch of the sweep's).

    Per-reseller lookups (settings, templates) are memoized by the
    `publishing_many` block the batch runs in.
    """

    # Rows as insert_rows takes them.
    rows: list[dict[str, Any]] = field(default_factory=list)
    keys: set[tuple[int, str]] = field(default_factory=set)


def _outbox_flush(batch: OutboxBatch) -> None:
    """The batch's rows in one insert, at the end of the publisher's batched block.

    The block runs inside the transaction that publishes the events, so the rows
    commit with them. Duplicates are dropped by the (reseller, dedupe_key) unique
    constraint.
    """
    if batch.rows:
        insert_rows(OutboxMessage, batch.rows, skip_conflict_on="outbox_dedupe_key")
        if any(row["status"] == OutboxStatus.QUEUED for row in batch.rows):
            _dispatch_due_on_commit()


def outbox_enqueue(
    *,
    reseller: Reseller,
    livemode: bool,
    event: str,
    dedupe_key: str,
    recipient: str,
    context: dict[str, Any],
    account_id: int | None = None,
    language: str | None = None,
    now: dt.datetime | None = None,
) -> OutboxMessage | None:
    """Store one email, once per (reseller, dedupe_key). Call inside the event's transaction.

    `language` is the recipient's (a subscriber's); None is the reseller's, for the
    emails to the reseller itself.

    The row keeps the subject and the context; outbox_render makes the body
    when the row goes out (the sweep writes thousands of rows at a time, and a
    worker renders each as it sends it).

    Returns the row (the existing one on a repeat), or None when there is no
    recipient or when an outbox batch collects it.
    """
    now = now or timezone.now()
    batch = batch_for("outbox", OutboxBatch, _outbox_flush)
    if batch is not None and (reseller.pk, dedupe_key) in batch.keys:
        return None
    if not recipient:
        return None
    config = memoized(("notification_settings", reseller.pk),
                      lambda: notification_settings_for(reseller.pk))
    if not config.event_enabled(event) and event != Event.TEST:
        status = OutboxStatus.DISABLED
    elif not delivery_configured(config):
        status = OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND
    else:
        status = OutboxStatus.QUEUED
    context = {**context, "livemode": livemode}
    language = language or reseller.language
    # The subject now, for every list and search; the body when the row is delivered.
    subject = render_subject(reseller.pk, event, context, livemode=livemode,
                             zone=zone_named(reseller.timezone), language=language)
    row = {
        "reseller_id": reseller.pk, "livemode": livemode, "event": event,
        "dedupe_key": dedupe_key, "account_id": account_id, "recipient": recipient,
        "subject": subject, "language": language, "context_encrypted": context_seal(context),
        "status": status, "next_attempt_at": now, "created_at": now,
    }
    if batch is not None:
        batch.keys.add((reseller.pk, dedupe_key))
        batch.rows.append(row)
        return None
    message = OutboxMessage(**row)
    # A prepared insert and no savepoint: the welcome email of every API create
    # (bench/api.py, b3ac8b6).
    if not insert_instance(message, skip_conflict_on="outbox_dedupe_key"):
        # This effect was written before (or by a concurrent transaction, which this one
        # waited for): the unique key is the truth.
        return OutboxMessage.objects.get(reseller=reseller, dedupe_key=dedupe_key)
    if status == OutboxStatus.QUEUED:
        _dispatch_on_commit(message.pk)
    return message


def _dispatch_due_on_commit() -> None:
    if not getattr(django_settings, "NOTIFICATIONS_DISPATCH", True):
        return

    def send() -> None:
        from .tasks import deliver_due

        try:
            deliver_due.delay()
        except Exception:
            logger.warning("Could not queue the delivery of a batch", exc_info=True)

    transaction.on_commit(send)


def _dispatch_on_commit(message_id: int) -> None:
    if not getattr(django_settings, "NOTIFICATIONS_DISPATCH", True):
        return

    def send() -> None:
        from .tasks import deliver_message

        try:
            deliver_message.delay(message_id)
        except Exception:  # the broker is down: the sweep's safety net delivers it later
            logger.warning("Could not queue delivery of outbox row %s", message_id, exc_info=True)

    transaction.on_commit(send)


# ---------------------------------------------------------------- the backlog
#
# Emails written while no delivery was set up wait as `not_sent_no_email_backend`. Setting
# delivery up does not send them: a weeks-old welcome email with a password is worse than
# none. The reseller sends them all, only the recent ones, or discards them.

BACKLOG_RECENT_DAYS = 7  # what "recent" means unless the reseller says otherwise
BACKLOG_MAX_DAYS = 3650


@dataclass(frozen=True)
class BacklogResult:
    """What one backlog action did: rows handed to delivery, reminders found too old to
    send (stale), rows discarded, and rows still waiting."""

    queued: int = 0
    stale: int = 0
    discarded: int = 0
    waiting: int = 0


def _backlog_days(days: int | None, param: str) -> int | None:
    if days is None:
        return None
    return whole_number(days, field=param, minimum=1, maximum=BACKLOG_MAX_DAYS,
                        code="invalid_days",
                        message=f"The number of days is a whole number from 1 to {BACKLOG_MAX_DAYS}.")


def backlog_rows(
    reseller: Reseller, *, now: dt.datetime, as_of: dt.datetime | None = None,
    newer_than_days: int | None = None, older_than_days: int | None = None,
) -> QuerySet[OutboxMessage]:
    """The held rows a backlog action takes: written up to `as_of` (what the reseller saw
    when it confirmed: a row written since is not swept in) and, when given, in the last
    `newer_than_days` days or before them (`older_than_days`). The confirmation counts
    the same rows (selectors.email_backlog_choice)."""
    rows = OutboxMessage.objects.filter(reseller=reseller,
                                        status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND)
    if as_of is not None:
        rows = rows.filter(created_at__lte=as_of)
    if newer_than_days is not None:
        rows = rows.filter(created_at__gte=now - dt.timedelta(days=newer_than_days))
    if older_than_days is not None:
        rows = rows.filter(created_at__lt=now - dt.timedelta(days=older_than_days))
    return rows


def _lock_backlog(reseller: Reseller) -> NotificationSettings:
    """One backlog action at a time per reseller (a double click waits, then finds nothing)."""
    config, _ = NotificationSettings.objects.select_for_update().get_or_create(reseller=reseller)
    return config


def outbox_backlog_send(
    *,
    actor: Actor,
    reseller: Reseller,
    within_days: int | None = None,
    as_of: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> BacklogResult:
    """Hand the held emails to delivery: all of them, or only those written in the last
    `within_days` days (older ones keep waiting, never sent by this). Reminders held more
    than a day become `stale`, as delivery would make them.

    Each row moves from held to queued once, in one UPDATE that asks for the held status, so
    a second click finds nothing to send; delivery then claims each queued row once.
    """
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    now = now or timezone.now()
    within_days = _backlog_days(within_days, "days")
    with transaction.atomic():
        config = _lock_backlog(reseller)
        if not delivery_configured(config):
            raise ValidationError(
                "Set up email delivery first: nothing can be sent yet.",
                code="email_delivery_not_configured", param=None)
        chosen = backlog_rows(reseller, now=now, as_of=as_of, newer_than_days=within_days)
        stale = chosen.filter(event__in=STALE_EVENTS, created_at__lt=now - STALE_AFTER).update(
            status=OutboxStatus.STALE)
        queued = chosen.update(status=OutboxStatus.QUEUED, next_attempt_at=now)
        waiting = backlog_rows(reseller, now=now).count()
        audit_record(actor=actor, reseller_id=reseller.pk, action="notifications.backlog_send",
                     obj=config, after={"within_days": within_days, "queued": queued,
                                        "stale": stale, "waiting": waiting,
                                        "as_of": as_of.isoformat() if as_of else None},
                     now=now)
        if queued:
            # One task delivers them in claimed batches (deliver_due), not one task per row.
            _dispatch_due_on_commit()
    return BacklogResult(queued=queued, stale=stale, waiting=waiting)


def outbox_backlog_discard(
    *,
    actor: Actor,
    reseller: Reseller,
    older_than_days: int | None = None,
    as_of: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> BacklogResult:
    """Discard the held emails (all, or those written more than `older_than_days` days
    ago): they stay in the outbox as `discarded`, with who and when, and are never sent."""
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    now = now or timezone.now()
    older_than_days = _backlog_days(older_than_days, "days")
    with transaction.atomic():
        config = _lock_backlog(reseller)
        chosen = backlog_rows(reseller, now=now, as_of=as_of, older_than_days=older_than_days)
        discarded = chosen.update(status=OutboxStatus.DISCARDED, discarded_at=now,
                                  discarded_by=actor.label[:200], discarded_by_user=actor.user)
        waiting = backlog_rows(reseller, now=now).count()
        audit_record(actor=actor, reseller_id=reseller.pk,
                     action="notifications.backlog_discard", obj=config,
                     after={"older_than_days": older_than_days, "discarded": discarded,
                            "waiting": waiting, "as_of": as_of.isoformat() if as_of else None},
                     now=now)
    return BacklogResult(discarded=discarded, waiting=waiting)


# ---------------------------------------------------------------- delivery


def _connection(config: NotificationSettings) -> BaseEmailBackend:
    if config.delivery == Delivery.SMTP:
        return get_connection(
            "apps.notifications.smtp.ReplyKeepingEmailBackend",
            host=config.smtp_host, port=config.smtp_port,
            username=config.smtp_username or None, password=config.smtp_password or None,
            use_tls=config.smtp_security == SmtpSecurity.STARTTLS,
            use_ssl=config.smtp_security == SmtpSecurity.SSL,
            timeout=SMTP_TIMEOUT_SECONDS, fail_silently=False,
        )
    if config.delivery == Delivery.ESP:
        key_name = ESP_KEY_NAMES[config.esp_name]
        return get_connection(f"anymail.backends.{config.esp_name}.EmailBackend",
                              fail_silently=False, **{key_name: config.esp_api_key})
    return get_connection(fail_silently=False)


def _sender(config: NotificationSettings, reseller: Reseller) -> str:
    address = config.sender_email or django_settings.DEFAULT_FROM_EMAIL
    name = config.sender_name or reseller.name
    return f'"{name}" <{address}>' if name else address


def _send(
    config: NotificationSettings, reseller: Reseller, *, to: list[str], subject: str, text: str,
    html: str, connection: BaseEmailBackend | None = None,
) -> str:
    """Send one email; returns the provider's message id. Raises on any delivery error."""
    sender = _sender(config, reseller)
    domain = (config.sender_email or django_settings.DEFAULT_FROM_EMAIL).rsplit("@", 1)[-1]
    message_id = make_msgid(domain=domain or None)
    email = EmailMultiAlternatives(subject=subject, body=text, from_email=sender, to=to,
                                   headers={"Message-ID": message_id},
                                   connection=connection or _connection(config))
    if html:
        email.attach_alternative(html, "text/html")
    email.send(fail_silently=False)
    status = getattr(email, "anymail_status", None)
    if status is not None and getattr(status, "message_id", None):
        return str(status.message_id)
    return message_id


def _error_text(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        detail = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {detail}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in error.recipients.items()
        )
    return f"{type(error).__name__}: {error}"


def _claim(message_id: int | None, now: dt.datetime, limit: int) -> list[OutboxMessage]:
    with transaction.atomic():
        rows = OutboxMessage.objects.select_for_update(skip_locked=True).filter(
            status=OutboxStatus.QUEUED, next_attempt_at__lte=now
        )
        if message_id is not None:
            rows = rows.filter(pk=message_id)
        claimed = list(rows.order_by("next_attempt_at", "id")[:limit])
        ids = [m.pk for m in claimed]
        OutboxMessage.objects.filter(pk__in=ids).update(
            status=OutboxStatus.SENDING, attempts=F("attempts") + 1, next_attempt_at=now
        )
    for message in claimed:
        message.attempts += 1
    return claimed


def _deliver_claimed(message: OutboxMessage, now: dt.datetime) -> str:
    reseller = Reseller.objects.get(pk=message.reseller_id)
    config = notification_settings_for(reseller.pk)
    rows = OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.SENDING)
    if message.event in STALE_EVENTS and message.created_at < now - STALE_AFTER:
        rows.update(status=OutboxStatus.STALE)
        return OutboxStatus.STALE
    if not delivery_configured(config):
        rows.update(status=OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND,
                    attempts=F("attempts") - 1)
        return OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND
    try:
        outbox_render(message, reseller=reseller)
        provider_id = _send(config, reseller, to=[message.recipient], subject=message.subject,
                            text=message.text, html=message.html)
    except (TimeoutError, smtplib.SMTPException, OSError, Exception) as error:
        text = _error_text(error)
        if message.attempts >= MAX_ATTEMPTS:
            rows.update(status=OutboxStatus.FAILED, last_error=text)
            return OutboxStatus.FAILED
        delay = dt.timedelta(seconds=BACKOFF_SECONDS * 2 ** (message.attempts - 1))
        rows.update(status=OutboxStatus.QUEUED, last_error=text, next_attempt_at=now + delay)
        _retry_later(message.pk, delay)
        return OutboxStatus.QUEUED
    rows.update(status=OutboxStatus.SENT, sent_at=now, provider_message_id=provider_id[:255],
                last_error="")
    return OutboxStatus.SENT


def outbox_render(message: OutboxMessage, *, reseller: Reseller) -> OutboxMessage:
    """Render the row's body from its context and keep it (once): what is sent is what is stored."""
    if not message.context_encrypted:
        return message
    rendered = render_message(message, time_zone=reseller.timezone)
    message.subject = rendered.subject
    message.text_encrypted = crypto.encrypt(rendered.text)
    message.html_encrypted = crypto.encrypt(rendered.html) if rendered.html else ""
    message.context_encrypted = ""
    OutboxMessage.objects.filter(pk=message.pk).exclude(context_encrypted="").update(
        subject=message.subject, text_encrypted=message.text_encrypted,
        html_encrypted=message.html_encrypted, context_encrypted="",
    )
    return message


def _retry_later(message_id: int, delay: dt.timedelta) -> None:
    if not getattr(django_settings, "NOTIFICATIONS_DISPATCH", True):
        return
    from .tasks import deliver_message

    try:
        deliver_message.apply_async((message_id,), countdown=int(delay.total_seconds()))
    except Exception:
        logger.warning("Could not queue the retry of outbox row %s", message_id, exc_info=True)


def outbox_deliver(*, message_id: int, now: dt.datetime | None = None) -> str | None:
    """Deliver one queued row if it is due; returns its new status (None: nothing to do)."""
    now = now or timezone.now()
    claimed = _claim(message_id, now, 1)
    return _deliver_claimed(claimed[0], now) if claimed else None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    other: int = 0


def outbox_deliver_due(*, now: dt.datetime | None = None, batch_size: int = 100,
                       max_batches: int = 50) -> DeliveryReport:
    """Deliver every due row, in claimed batches; mark rows stuck in `sending` as unknown."""
    now = now or timezone.now()
    OutboxMessage.objects.filter(
        status=OutboxStatus.SENDING, next_attempt_at__lt=now - SENDING_TIMEOUT
    ).update(status=OutboxStatus.UNKNOWN,
             last_error="The worker stopped while sending: not resent, to never send twice.")
    counts = {"sent": 0, "retrying": 0, "failed": 0, "other": 0}
    for _ in range(max_batches):
        claimed = _claim(None, now, batch_size)
        if not claimed:
            break
        for message in claimed:
            status = _deliver_claimed(message, now)
            key = {OutboxStatus.SENT: "sent", OutboxStatus.QUEUED: "retrying",
                   OutboxStatus.FAILED: "failed"}.get(OutboxStatus(status), "other")
            counts[key] += 1
    return DeliveryReport(**counts)


# ---------------------------------------------------------------- the test email


@dataclass(frozen=True)
class TestEmailResult:
    ok: bool
    message: str
    provider_message_id: str = ""
    # Where it went: "smtp" (detail: host:port), "esp" (detail: the service), or the
    # panel's own EMAIL_BACKEND: "panel_console", "panel_file" (detail: the directory),
    # "panel_memory", "panel_dummy", "panel_smtp" (detail: host:port), "panel_other"
    # (detail: the backend). Empty when nothing could be sent.
    via: str = ""
    detail: str = ""
    # The SMTP server's answer to the message ("250 2.0.0 Ok: queued as 4Xk2").
    server_reply: str = ""
    # The outbox row that records it (a test row: livemode False, out of the live counts).
    outbox_id: int | None = None


_PANEL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "panel_console",
    "django.core.mail.backends.filebased.EmailBackend": "panel_file",
    "django.core.mail.backends.locmem.EmailBackend": "panel_memory",
    "django.core.mail.backends.dummy.EmailBackend": "panel_dummy",
    "django.core.mail.backends.smtp.EmailBackend": "panel_smtp",
}


def _destination(config: NotificationSettings) -> tuple[str, str]:
    """(via, detail) of TestEmailResult for the reseller's settings."""
    if config.delivery == Delivery.SMTP:
        return "smtp", f"{config.smtp_host}:{config.smtp_port}"
    if config.delivery == Delivery.ESP:
        return "esp", config.esp_name
    backend = django_settings.EMAIL_BACKEND
    via = _PANEL_BACKENDS.get(backend, "panel_other")
    detail = {
        "panel_file": str(getattr(django_settings, "EMAIL_FILE_PATH", "")),
        "panel_smtp": f"{django_settings.EMAIL_HOST}:{django_settings.EMAIL_PORT}",
        "panel_other": backend,
    }.get(via, "")
    return via, detail


def send_test_email(
    *, actor: Actor, reseller: Reseller, to: str, now: dt.datetime | None = None
) -> TestEmailResult:
    """Send a test email now through the reseller's real settings; report success or the server's error.

    Sent in the request, not through a worker: it tests the settings, and the
    answer is wanted at once (SMTP_TIMEOUT_SECONDS at most). An outbox row records
    it, sent or failed, so it can be found like any other email.
    """
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    now = now or timezone.now()
    try:
        validate_email(to)
    except DjangoValidationError:
        raise ValidationError(f"{to!r} is not an email address.", code="invalid_email",
                              param="to") from None
    config = notification_settings_for(reseller.pk)
    if not delivery_configured(config):
        return TestEmailResult(
            ok=False, message="No email delivery is configured: nothing can be sent."
        )
    via, detail = _destination(config)
    rendered = render_event(reseller.pk, Event.TEST, {"reseller_name": reseller.name},
                            language=reseller.language)
    connection = _connection(config)
    try:
        provider_id = _send(config, reseller, to=[to], subject=rendered.subject,
                            text=rendered.text,
                            html=rendered.html or layout_html(rendered.subject, rendered.text,
                                                                  reseller.language),
                            connection=connection)
    except Exception as error:
        result = TestEmailResult(ok=False, message=_error_text(error), via=via, detail=detail)
    else:
        result = TestEmailResult(ok=True, message=f"Sent to {to}.",
                                 provider_message_id=provider_id, via=via, detail=detail,
                                 server_reply=getattr(connection, "last_reply", ""))
    with transaction.atomic():
        # A test row: not mail to subscribers, so never in the live counts and banners
        # (a failed test would otherwise say "1 email failed" for good).
        row = OutboxMessage.objects.create(
            reseller=reseller, livemode=False, event=Event.TEST, language=reseller.language,
            dedupe_key=f"test:{now:%Y%m%d%H%M%S%f}:{secrets.token_hex(4)}", recipient=to,
            subject=rendered.subject[:255], text_encrypted=crypto.encrypt(rendered.text),
            html_encrypted=crypto.encrypt(rendered.html) if rendered.html else "",
            status=OutboxStatus.SENT if result.ok else OutboxStatus.FAILED, attempts=1,
            next_attempt_at=now, created_at=now, sent_at=now if result.ok else None,
            last_error="" if result.ok else result.message,
            provider_message_id=result.provider_message_id[:255],
        )
        audit_record(actor=actor, reseller_id=reseller.pk, action="notifications.test_email",
                     obj=reseller, after={"to": to, "ok": result.ok, "message": result.message,
                                          "outbox_id": row.pk}, now=now)
    return replace(result, outbox_id=row.pk)
