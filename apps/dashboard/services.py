"""Dashboard-only writes: security rules, staff invitations, emails the panel sends itself.

The notifications issue brings the outbox and the reseller's own email
settings; until then the welcome, reminder and test emails go through
Django's EMAIL_BACKEND and say plainly whether they were sent.
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
from apps.audit.models import AuditEntry
from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.core.errors import ValidationError
from apps.subscriptions.models import ServiceAccount

from .models import ResellerSecurity

log = logging.getLogger(__name__)

# Backends that deliver nothing anywhere a subscriber could read it.
UNDELIVERED_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


class EmailOutcome(enum.StrEnum):
    SENT = "sent"
    QUEUED = "queued"
    NOT_CONFIGURED = "not_configured"
    FAILED = "failed"
    NO_ADDRESS = "no_address"


def email_delivery_configured() -> bool:
    return settings.EMAIL_BACKEND not in UNDELIVERED_BACKENDS


EMAIL_ACTIONS = ["account.welcome_email", "account.reminder_email", "settings.test_email"]


def email_delivery_health(reseller: Reseller) -> str:
    """"not_configured", "failing" (the panel's last email to a subscriber or a test failed), or "ok".

    The notification outbox (when it lands) is the fuller source; until then
    the audit rows of the emails the dashboard sends say how the last one went.
    """
    if not email_delivery_configured():
        return "not_configured"
    last = (
        AuditEntry.objects.filter(reseller=reseller, action__in=EMAIL_ACTIONS)
        .order_by("-id").values_list("after", flat=True).first()
    )
    if isinstance(last, dict) and last.get("outcome") == EmailOutcome.FAILED:
        return "failing"
    return "ok"


def _send(subject: str, body: str, to: str) -> EmailOutcome:
    if not to:
        return EmailOutcome.NO_ADDRESS
    configured = email_delivery_configured()
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        log.exception("email to %s failed", to)
        return EmailOutcome.FAILED
    return EmailOutcome.SENT if configured else EmailOutcome.NOT_CONFIGURED


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
    outcome = _send(f"Invitation: {reseller.name}", body, email)
    return membership, outcome


def welcome_send(*, actor: Actor, account: ServiceAccount, password: str | None = None
                 ) -> EmailOutcome:
    """The welcome email with the credentials; authorized like a credentials reveal."""
    from apps.subscriptions.selectors import account_credentials

    reseller = Reseller.objects.get(pk=account.reseller_id)
    if password is None:
        _, password = account_credentials(reseller, actor=actor, account_id=account.pk)
    else:
        authorize(actor, reseller, Perm.ACCOUNT_CREATE)
    body = (
        f"Welcome to {reseller.name}.\n\nUsername: {account.username}\nPassword: {password}\n"
    )
    outcome = _send(f"Your {reseller.name} account", body, account.subscriber.email)
    audit_record(actor=actor, reseller_id=reseller.pk, action="account.welcome_email",
                 obj=account, after={"outcome": outcome.value})
    return outcome


def reminders_send(
    *, actor: Actor, reseller: Reseller, accounts: Iterable[ServiceAccount]
) -> dict[str, int]:
    """A renewal reminder to each account's subscriber; counts per outcome."""
    authorize(actor, reseller, Perm.SUBSCRIBER_MANAGE)
    counts: dict[str, int] = {}
    for account in accounts:
        expiry = account.expires_at.date().isoformat() if account.expires_at else "-"
        outcome = _send(
            f"Your {reseller.name} subscription",
            f"Your account {account.username} expires on {expiry}. "
            "Contact us to renew it.\n",
            account.subscriber.email,
        )
        audit_record(actor=actor, reseller_id=reseller.pk, action="account.reminder_email",
                     obj=account, after={"outcome": outcome.value})
        counts[outcome.value] = counts.get(outcome.value, 0) + 1
    return counts


def test_email_send(*, actor: Actor, reseller: Reseller, to: str) -> EmailOutcome:
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    outcome = _send("Test email from the billing panel",
                    "If you read this, email delivery works.\n", to)
    audit_record(actor=actor, reseller_id=reseller.pk, action="settings.test_email",
                 obj=reseller, after={"to": to, "outcome": outcome.value})
    return outcome
