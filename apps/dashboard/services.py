"""Dashboard-only writes: security rules, staff invitations, the emails staff send by hand.

Emails to subscribers (welcome, reminder) and the test email go through
apps.notifications: an outbox row rendered from the reseller's templates and
delivered with the reseller's own email settings, whose status the pages show.
Staff invitations are the panel's own sign-in email, like the password reset:
they go through Django's EMAIL_BACKEND.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import Reseller, StaffMembership, User
from apps.accounts.permissions import Perm, authorize
from apps.accounts.services import staff_set_role
from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.core.errors import ValidationError
from apps.notifications.consumers import account_email_context
from apps.notifications.models import Event, OutboxMessage, OutboxStatus
from apps.notifications.services import TestEmailResult, outbox_enqueue, send_test_email
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import account_credentials_reveal

from .models import ResellerSecurity

log = logging.getLogger(__name__)

# Backends that deliver nothing anywhere a person could read it.
UNDELIVERED_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


class EmailOutcome(enum.StrEnum):
    """What became of one email, read from its outbox row (or of an invitation)."""

    SENT = "sent"
    QUEUED = "queued"
    NOT_CONFIGURED = "not_configured"
    FAILED = "failed"
    NO_ADDRESS = "no_address"
    DISABLED = "disabled"
    NOT_SENT = "not_sent"


def outcome_of(row: OutboxMessage | None) -> EmailOutcome:
    """The outbox row's state in the words the pages use; no row means no recipient."""
    if row is None:
        return EmailOutcome.NO_ADDRESS
    return {
        OutboxStatus.SENT: EmailOutcome.SENT,
        OutboxStatus.QUEUED: EmailOutcome.QUEUED,
        OutboxStatus.SENDING: EmailOutcome.QUEUED,
        OutboxStatus.NOT_SENT_NO_EMAIL_BACKEND: EmailOutcome.NOT_CONFIGURED,
        OutboxStatus.FAILED: EmailOutcome.FAILED,
        OutboxStatus.DISABLED: EmailOutcome.DISABLED,
    }.get(OutboxStatus(row.status), EmailOutcome.NOT_SENT)


def panel_email_configured() -> bool:
    return settings.EMAIL_BACKEND not in UNDELIVERED_BACKENDS


def _panel_send(subject: str, body: str, to: str) -> EmailOutcome:
    """The panel's own email (staff invitations) through Django's EMAIL_BACKEND."""
    if not to:
        return EmailOutcome.NO_ADDRESS
    configured = panel_email_configured()
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        log.exception("email to %s failed", to)
        return EmailOutcome.FAILED
    return EmailOutcome.SENT if configured else EmailOutcome.NOT_CONFIGURED


def welcome_row(account: ServiceAccount) -> OutboxMessage | None:
    """The latest welcome email of the account (the one activation wrote, or a resend)."""
    return (OutboxMessage.objects.filter(account=account, event=Event.WELCOME)
            .order_by("-created_at", "-id").first())


@transaction.atomic
def security_set_require_2fa(
    *, actor: Actor, reseller: Reseller, required: bool, now: dt.datetime | None = None
) -> ResellerSecurity:
    authorize(actor, reseller, Perm.SECURITY_MANAGE)
    now = now or timezone.now()
    security, _ = ResellerSecurity.objects.select_for_update().get_or_create(
        reseller=reseller, defaults={"updated_at": now}
    )
    before = {"require_2fa": security.require_2fa}
    security.require_2fa = required
    security.updated_at = now
    security.save()
    audit_record(actor=actor, reseller_id=reseller.pk, action="security.require_2fa",
                 obj=security, before=before, after={"require_2fa": required}, now=now)
    return security


def staff_invite(
    *, actor: Actor, reseller: Reseller, email: str, role: str, base_url: str
) -> tuple[StaffMembership, EmailOutcome]:
    """Add a person to the staff by email; a new user gets a link to set a password."""
    authorize(actor, reseller, Perm.STAFF_MANAGE)
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationError("Enter an email address.", code="invalid_email", param="email")
    with transaction.atomic():
        user = User.objects.filter(email=email).first()
        created = user is None
        if user is None:
            user = User.objects.create_user(email=email, password=None)
        membership = staff_set_role(actor=actor, reseller=reseller, user=user, role=role)
    link = base_url + reverse(
        "dashboard:password_reset_confirm",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user)},
    )
    body = (
        f"{actor.label} invited you to the billing panel of {reseller.name}.\n\n"
        + (f"Set your password here: {link}\n" if created else "Sign in with your password.\n")
    )
    outcome = _panel_send(f"Invitation: {reseller.name}", body, email)
    return membership, outcome


def welcome_send(*, actor: Actor, account: ServiceAccount, now: dt.datetime | None = None
                 ) -> OutboxMessage | None:
    """Send the welcome email (with the credentials) again, through the outbox.

    Authorized like a credentials reveal. One resend per account per minute: a
    double click or a retried request finds the same row instead of a second email.
    """
    now = now or timezone.now()
    reseller = Reseller.objects.get(pk=account.reseller_id)
    _, password = account_credentials_reveal(actor=actor, reseller=reseller,
                                             account_id=account.pk, now=now)
    account = ServiceAccount.objects.select_related("subscriber", "plan").get(pk=account.pk)
    recipient = account.subscriber.email if account.livemode else reseller.contact_email
    with transaction.atomic():
        row = outbox_enqueue(
            reseller=reseller, livemode=account.livemode, event=Event.WELCOME,
            dedupe_key=f"{Event.WELCOME}:resend:{account.pk}:{now:%Y%m%d%H%M}",
            recipient=recipient,
            context={**account_email_context(account, reseller), "password": password},
            account_id=account.pk, language=account.subscriber.language, now=now,
        )
        audit_record(actor=actor, reseller_id=reseller.pk, action="account.welcome_email",
                     obj=account, after={"outcome": outcome_of(row).value,
                                         "outbox_id": row.pk if row else None}, now=now)
    return row


def reminders_send(
    *, actor: Actor, reseller: Reseller, accounts: Iterable[ServiceAccount],
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """A renewal reminder to each account's subscriber, through the outbox; counts per outcome.

    At most one hand-sent reminder per account and day, whatever is clicked twice.
    """
    authorize(actor, reseller, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    counts: dict[str, int] = {}
    with transaction.atomic():
        for account in accounts:
            if account.reseller_id != reseller.pk:
                continue
            days_left = max((account.expires_at - now).days, 0) if account.expires_at else 0
            recipient = account.subscriber.email if account.livemode else reseller.contact_email
            row = outbox_enqueue(
                reseller=reseller, livemode=account.livemode, event=Event.RENEWAL_REMINDER,
                dedupe_key=f"{Event.RENEWAL_REMINDER}:manual:{account.pk}:{now:%Y-%m-%d}",
                recipient=recipient,
                context={**account_email_context(account, reseller), "days_left": days_left},
                account_id=account.pk, language=account.subscriber.language, now=now,
            )
            outcome = outcome_of(row)
            audit_record(actor=actor, reseller_id=reseller.pk, action="account.reminder_email",
                         obj=account, after={"outcome": outcome.value}, now=now)
            counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts


def test_email_send(*, actor: Actor, reseller: Reseller, to: str) -> TestEmailResult:
    """Send a test email now with the reseller's settings: success or the server's own error."""
    return send_test_email(actor=actor, reseller=reseller, to=to)
