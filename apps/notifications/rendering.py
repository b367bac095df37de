"""Render an event's email from the reseller's template or the default one.

Templates use Django template syntax. The context each event gets is listed
in CONTEXT_DOCS (and in the README); SAMPLE_CONTEXT fills the preview and the
check that refuses a template that does not render.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.loader import get_template
from django.utils import timezone

from apps.core import crypto
from apps.core.dates import zone_named
from apps.core.errors import ValidationError
from apps.core.events import memoized

from .models import Event, NotificationTemplate

if TYPE_CHECKING:
    from .models import OutboxMessage

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


@cache
def default_template_sources(event: str) -> tuple[str, str]:
    """(subject, text) of the template that ships with the panel; read once per process."""
    subject = get_template(f"notifications/{event}.subject.txt").template.source  # type: ignore[attr-defined]
    text = get_template(f"notifications/{event}.txt").template.source  # type: ignore[attr-defined]
    return subject, text


def _subject(source: str, context: dict[str, Any]) -> str:
    return " ".join(str(_compiled(source, False).render(_text(context))).split())[:255]


def _render(subject_src: str, text_src: str, html_src: str, context: dict[str, Any]) -> Rendered:
    subject = _subject(subject_src, context)
    text = str(_compiled(text_src, False).render(_text(context)))
    # No HTML template: the text in the default layout, made when the email goes out
    # (layout_html), so the outbox keeps only what the reseller wrote.
    html = str(_compiled(html_src, True).render(Context(context))) if html_src else ""
    return Rendered(subject=subject, text=text, html=html)


def layout_html(subject: str, text: str) -> str:
    """The default HTML part: the text body, escaped, in templates/notifications/base.html."""
    return get_template("notifications/base.html").render({"subject": subject, "body_text": text})


def _sources(reseller_id: int, event: str) -> tuple[str, str, str]:
    """The reseller's subject, text and HTML sources for the event, else the default ones."""

    def find() -> tuple[str, str, str]:
        override = NotificationTemplate.objects.filter(reseller_id=reseller_id, event=event).first()
        if override is not None:
            return override.subject, override.text, override.html
        subject, text = default_template_sources(event)
        return subject, text, ""

    return memoized(("template_sources", reseller_id, event), find)


def _in_zone(zone: dt.tzinfo | None) -> AbstractContextManager[Any]:
    """Dates render in `zone` (the reseller's) when given."""
    return timezone.override(zone) if zone is not None else nullcontext()


def render_event(
    reseller_id: int, event: str, context: dict[str, Any], *, livemode: bool = True,
    zone: dt.tzinfo | None = None,
) -> Rendered:
    """The reseller's template for the event if it has one, else the default.

    Dates show in `zone` (the reseller's) when given.
    """
    subject, text, html = _sources(reseller_id, event)
    with _in_zone(zone):
        rendered = _render(subject, text, html, context)
    if not livemode:
        rendered = Rendered(subject=f"[TEST] {rendered.subject}"[:255], text=rendered.text,
                            html=rendered.html)
    return rendered


class _Reads(dict[str, Any]):
    """A context that notes the names a template looks up (Context asks `in`, then reads)."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.names: set[str] = set()

    def __contains__(self, key: object) -> bool:
        self.names.add(str(key))
        return super().__contains__(key)


_MISSING = object()


def render_subject(
    reseller_id: int, event: str, context: dict[str, Any], *, livemode: bool = True,
    zone: dt.tzinfo | None = None,
) -> str:
    """Only the subject of render_event: what an outbox row shows before it is rendered.

    Inside `publishing_many` (a sweep batch) a subject is rendered once per
    distinct value of the names it reads: a template's output depends on those
    values only, and most subjects read one name or none ("expires in 3 days").
    """
    source = _sources(reseller_id, event)[0]
    memo: dict[Any, Any] = memoized(("subjects",), dict)
    shapes: set[tuple[str, ...]] = memo.setdefault((source, zone), set())
    try:
        for names in shapes:
            found = memo.get((source, zone, names,
                              tuple(context.get(name, _MISSING) for name in names)))
            if found is not None:
                return str(found) if livemode else f"[TEST] {found}"[:255]
    except TypeError:  # a value that cannot be a key: render every time
        shapes = set()
    reads = _Reads(context)
    with _in_zone(zone):
        subject = _subject(source, reads)
    names = tuple(sorted(reads.names))
    try:
        memo[(source, zone, names, tuple(context.get(name, _MISSING) for name in names))] = subject
        shapes.add(names)
    except TypeError:
        pass
    return subject if livemode else f"[TEST] {subject}"[:255]


# Context values that are datetimes: JSON keeps them as ISO 8601 text.
DATETIME_KEYS = ("expires_at", "grace_ends_at")


_encoder = DjangoJSONEncoder()


def _json_value(value: Any) -> Any:
    # Datetimes whole (DjangoJSONEncoder would cut them to milliseconds); the rest as it does.
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return _encoder.default(value)


def context_seal(context: dict[str, Any]) -> str:
    """The context as an outbox row keeps it until rendered: JSON, encrypted (it may hold a password)."""
    return crypto.encrypt(json.dumps(context, default=_json_value))


def context_open(sealed: str) -> dict[str, Any]:
    context: dict[str, Any] = json.loads(crypto.decrypt(sealed))
    for key in DATETIME_KEYS:
        if isinstance(context.get(key), str):
            context[key] = dt.datetime.fromisoformat(context[key])
    return context


def render_message(message: OutboxMessage, *, time_zone: str) -> Rendered:
    """An outbox row's email: as stored once rendered, else from its context and today's template."""
    if not message.context_encrypted:
        return Rendered(subject=message.subject, text=crypto.decrypt(message.text_encrypted),
                        html=crypto.decrypt(message.html_encrypted)
                        if message.html_encrypted else "")
    return render_event(message.reseller_id, message.event,
                        context_open(message.context_encrypted), livemode=message.livemode,
                        zone=zone_named(time_zone))


def template_check(
    *, event: str, subject: str, text: str, html: str = "",
    context: dict[str, Any] | None = None,
) -> Rendered:
    """Render the templates with the sample context; a clear error if they do not render.

    `context` replaces sample values (the reseller's own name in its preview, say).
    """
    sample = {**SAMPLE_CONTEXT, **(context or {})}
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
                Context(sample) if name == "html" else _text(sample)
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
    return _render(subject, text, html, sample)


def template_preview(
    reseller_id: int, event: str, *, context: dict[str, Any] | None = None
) -> Rendered:
    """The event's email as the reseller's subscribers would get it, with sample values
    (`context` replaces some of them)."""
    return render_event(reseller_id, event, {**SAMPLE_CONTEXT, **(context or {})})
