"""Render an event's email from the reseller's template or the default one.

Templates use Django template syntax. The context each event gets is listed
in CONTEXT_DOCS (and in the README); SAMPLE_CONTEXT fills the preview and the
check that refuses a template that does not render.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.loader import get_template

from apps.core.errors import ValidationError

from .models import Event, NotificationTemplate

COMMON_CONTEXT = {
    "reseller_name": "the reseller's name",
    "reseller_email": "the reseller's contact address",
    "subscriber_name": "the subscriber's name",
    "username": "the service username",
    "plan_name": "the plan's name",
    "expires_at": "the expiry (a datetime, in the reseller's timezone)",
    "auto_renew": "True when the account renews by itself",
    "livemode": "False for test-mode accounts",
}
CONTEXT_DOCS: dict[str, dict[str, str]] = {
    Event.WELCOME: {"password": "the service password"},
    Event.RENEWAL_REMINDER: {"days_left": "whole days to the expiry day (0: today)"},
    Event.EXPIRED: {"grace_ends_at": "when the account stops working"},
    Event.SUSPENDED: {},
    Event.REACTIVATED: {},
    Event.TERMINATED: {},
    Event.PAYMENT_FAILED: {"error": "why the collection failed"},
    Event.PAYMENT_RECEIPT: {"amount": "the amount paid, formatted with its currency"},
    Event.CREDIT_FLOOR: {
        "balance": "the credit balance",
        "floor": "the credit floor",
        "needed_7_days": "credits the renewals due in the next 7 days need",
        "needed_30_days": "credits the renewals due in the next 30 days need",
    },
    Event.PENDING_CREDITS: {
        "operation": "activation or renewal",
        "credits_needed": "credits the operation needs",
        "balance": "the credit balance",
    },
    Event.TEST: {},
}

_SAMPLE_TIME = dt.datetime(2026, 1, 31, 18, 30, tzinfo=dt.UTC)
SAMPLE_CONTEXT: dict[str, Any] = {
    "reseller_name": "Example Reseller",
    "reseller_email": "owner@reseller.example",
    "subscriber_name": "Ana García",
    "username": "anagarcia123456",
    "plan_name": "Monthly",
    "expires_at": _SAMPLE_TIME,
    "auto_renew": True,
    "livemode": True,
    "password": "SamplePassw0rd23",
    "days_left": 3,
    "grace_ends_at": _SAMPLE_TIME + dt.timedelta(hours=48),
    "error": "card declined",
    "amount": "9.99 EUR",
    "balance": 4,
    "floor": 10,
    "needed_7_days": 6,
    "needed_30_days": 25,
    "operation": "renewal",
    "credits_needed": 12,
}

# Text bodies and subjects are not HTML: nothing is escaped in them.
_engine_text = Engine(autoescape=False, libraries={})
_engine_html = Engine(autoescape=True, libraries={})


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    """Compile each template source once per process (the sweep renders thousands)."""
    return (_engine_html if html else _engine_text).from_string(source)


def _text(context: dict[str, Any]) -> Context:
    return Context(context, autoescape=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _default_sources(event: str) -> tuple[str, str]:
    subject = get_template(f"notifications/{event}.subject.txt").template.source  # type: ignore[attr-defined]
    text = get_template(f"notifications/{event}.txt").template.source  # type: ignore[attr-defined]
    return subject, text


def _render(subject_src: str, text_src: str, html_src: str, context: dict[str, Any]) -> Rendered:
    subject = " ".join(str(_compiled(subject_src, False).render(_text(context))).split())
    subject = subject[:255]
    text = str(_compiled(text_src, False).render(_text(context)))
    # No HTML template: the text in the default layout, made when the email goes out
    # (layout_html), so the outbox keeps only what the reseller wrote.
    html = str(_compiled(html_src, True).render(Context(context))) if html_src else ""
    return Rendered(subject=subject, text=text, html=html)


def layout_html(subject: str, text: str) -> str:
    """The default HTML part: the text body, escaped, in templates/notifications/base.html."""
    return get_template("notifications/base.html").render({"subject": subject, "body_text": text})


def render_event(
    reseller_id: int, event: str, context: dict[str, Any], *, livemode: bool = True,
    overrides: dict[str, NotificationTemplate] | None = None,
) -> Rendered:
    """The reseller's template for the event if it has one, else the default.

    `overrides` (the reseller's templates by event) saves the lookup in a batch.
    """
    if overrides is not None:
        override = overrides.get(event)
    else:
        override = NotificationTemplate.objects.filter(reseller_id=reseller_id,
                                                       event=event).first()
    if override is not None:
        rendered = _render(override.subject, override.text, override.html, context)
    else:
        subject, text = _default_sources(event)
        rendered = _render(subject, text, "", context)
    if not livemode:
        rendered = Rendered(subject=f"[TEST] {rendered.subject}", text=rendered.text,
                            html=rendered.html)
    return rendered


def template_check(*, event: str, subject: str, text: str, html: str = "") -> Rendered:
    """Render the templates with the sample context; a clear error if they do not render."""
    if event not in Event.values:
        raise ValidationError(f"{event!r} is not an event.", code="invalid_event", param="event")
    if not subject.strip():
        raise ValidationError("A template needs a subject.", code="required", param="subject")
    if not text.strip():
        raise ValidationError("A template needs a text body.", code="required", param="text")
    for name, source in (("subject", subject), ("text", text), ("html", html)):
        try:
            engine = _engine_html if name == "html" else _engine_text
            engine.from_string(source).render(
                Context(SAMPLE_CONTEXT) if name == "html" else _text(SAMPLE_CONTEXT)
            )
        except TemplateSyntaxError as error:
            raise ValidationError(
                f"The {name} template does not render: {error}", code="template_syntax_error",
                param=name,
            ) from None
        except Exception as error:  # a filter failing on the sample data, say
            raise ValidationError(
                f"The {name} template does not render: {error}", code="template_error",
                param=name,
            ) from None
    return _render(subject, text, html, SAMPLE_CONTEXT)


def template_preview(reseller_id: int, event: str) -> Rendered:
    """The event's email as the reseller's subscribers would get it, with sample values."""
    return render_event(reseller_id, event, SAMPLE_CONTEXT)
