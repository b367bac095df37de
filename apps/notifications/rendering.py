"""Render an event's email from the reseller's template or the default one.

Templates use Django template syntax. The context each event gets is listed
in CONTEXT_DOCS (and in the README); SAMPLE_CONTEXT fills the preview and the
check that refuses a template that does not render.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template import Context, Engine, Template, TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import get_template
from django.utils import timezone, translation

from apps.core import crypto
from apps.core.currencies import MINOR_UNITS
from apps.core.dates import zone_named
from apps.core.errors import ValidationError
from apps.core.events import memoized
from apps.core.money import money_format
from apps.core.validation import language_code

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
# The payment emails are about a subscriber, maybe without an account (a wallet top-up):
# there username, plan_name, expires_at and auto_renew are empty.
_AMOUNT_DOCS = {
    "amount": "the payment's amount, formatted for the email's language (€9.99, 9,99 €)",
    "amount_minor": "the payment's amount, in minor units of the currency (999)",
    "currency": "the ISO 4217 code of the currency (EUR)",
}
CONTEXT_DOCS: dict[str, dict[str, str]] = {
    Event.WELCOME: {"password": "the service password"},
    Event.RENEWAL_REMINDER: {"days_left": "whole days to the expiry day (0: today)"},
    Event.EXPIRED: {"grace_ends_at": "when the account stops working"},
    Event.SUSPENDED: {},
    Event.REACTIVATED: {},
    Event.TERMINATED: {},
    Event.PAYMENT_FAILED: {
        "error": "why the collection failed",
        "action_url": "where the subscriber replaces the card or confirms the payment "
                      "(empty when there is nothing to do there)",
    },
    Event.PAYMENT_RECEIPT: {**_AMOUNT_DOCS},
    Event.PAYMENT_ACTION_REQUIRED: {
        **_AMOUNT_DOCS,
        "action_url": "where the subscriber confirms the payment with the bank",
    },
    Event.TOP_UP_RECEIPT: {**_AMOUNT_DOCS},
    Event.REFUND_ISSUED: {
        **_AMOUNT_DOCS,
        "refunded_amount": "what has been refunded of the payment so far (every refund of "
                           "it), formatted for the email's language",
        "refunded_amount_minor": "the same, in minor units of the currency",
    },
    Event.PAYMENT_DISPUTED: {
        **_AMOUNT_DOCS,
        "reason": "the reason the bank gives (Stripe's code: fraudulent, duplicate, ...)",
    },
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
    "action_url": "https://billing.reseller.example/pay/sample/",
    "amount": "€9.99",
    "amount_minor": 999,
    "currency": "EUR",
    "refunded_amount": "€4.00",
    "refunded_amount_minor": 400,
    "reason": "fraudulent",
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


ENGLISH = "en"


def language_valid(language: str) -> bool:
    return language in dict(settings.LANGUAGES)


def _default_path(event: str, language: str, suffix: str) -> str:
    # English sits at the top of templates/notifications/; every other language in its folder.
    folder = "notifications/" if language == ENGLISH else f"notifications/{language}/"
    return f"{folder}{event}{suffix}"


def _source(path: str) -> str:
    return str(get_template(path).template.source)  # type: ignore[attr-defined]


@cache
def default_template_sources(event: str, language: str = ENGLISH) -> tuple[str, str]:
    """(subject, text) of the template that ships with the panel in `language`, else the
    English one; read once per process."""
    try:
        return (_source(_default_path(event, language, ".subject.txt")),
                _source(_default_path(event, language, ".txt")))
    except TemplateDoesNotExist:
        if language == ENGLISH:
            raise
        return default_template_sources(event, ENGLISH)


def default_template_exists(event: str, language: str) -> bool:
    """Whether the panel ships the event's email written in `language` (not only English)."""
    try:
        get_template(_default_path(event, language, ".subject.txt"))
        get_template(_default_path(event, language, ".txt"))
    except TemplateDoesNotExist:
        return False
    return True


# Any run of whitespace in a subject (line breaks too) becomes one space, except the
# non-breaking spaces that keep an amount together (`9,99 €`).
_SUBJECT_SPACE = re.compile(r"[^\S\u00a0\u202f]+")


def _subject(source: str, context: dict[str, Any]) -> str:
    rendered = str(_compiled(source, False).render(_text(context)))
    return _SUBJECT_SPACE.sub(" ", rendered).strip()[:255]


# The amounts an email shows, each made from its figure in minor units and `currency`.
AMOUNT_FIGURES = {"amount": "amount_minor", "refunded_amount": "refunded_amount_minor"}


def with_amount(context: dict[str, Any], *, language: str | None = None) -> dict[str, Any]:
    """The context with `amount` (and `refunded_amount`) formatted in the active language,
    from their minor units.

    The outbox keeps the figures, not the text: the email reads `9,99 €` when it
    is rendered in Spanish and `€9.99` in English, whenever it was queued.
    """
    currency = context.get("currency")
    if currency not in MINOR_UNITS:
        return context
    formatted = {}
    for name, figure in AMOUNT_FIGURES.items():
        amount = context.get(figure)
        if isinstance(amount, int) and not isinstance(amount, bool):
            formatted[name] = money_format(amount, str(currency), language=language)
    return {**context, **formatted} if formatted else context


def _render(subject_src: str, text_src: str, html_src: str, context: dict[str, Any]) -> Rendered:
    context = with_amount(context)
    subject = _subject(subject_src, context)
    text = str(_compiled(text_src, False).render(_text(context)))
    # No HTML template: the text in the default layout, made when the email goes out
    # (layout_html), so the outbox keeps only what the reseller wrote.
    html = str(_compiled(html_src, True).render(Context(context))) if html_src else ""
    return Rendered(subject=subject, text=text, html=html)


def layout_html(subject: str, text: str, language: str = ENGLISH) -> str:
    """The default HTML part: the text body, escaped, in templates/notifications/base.html."""
    return get_template("notifications/base.html").render(
        {"subject": subject, "body_text": text, "language": language})


@dataclass(frozen=True)
class TemplateSources:
    """What an event's email in one language is made from, and where it came from:
    `own` (the reseller's template in that language), `default` (the panel's in that
    language) or `english` (the panel's English one: none ships in that language)."""

    subject: str
    text: str
    html: str
    origin: str


def template_sources(reseller_id: int, event: str, language: str) -> TemplateSources:
    """The reseller's template for the event in `language`, else the panel's default in
    that language, else the panel's English one. Memoized per publishing block."""

    def find() -> TemplateSources:
        override = NotificationTemplate.objects.filter(
            reseller_id=reseller_id, event=event, language=language).first()
        if override is not None:
            return TemplateSources(override.subject, override.text, override.html, "own")
        subject, text = default_template_sources(event, language)
        origin = ("default" if language == ENGLISH or default_template_exists(event, language)
                  else "english")
        return TemplateSources(subject, text, "", origin)

    found: TemplateSources = memoized(("template_sources", reseller_id, event, language), find)
    return found


def _sources(reseller_id: int, event: str, language: str) -> tuple[str, str, str]:
    found = template_sources(reseller_id, event, language)
    return found.subject, found.text, found.html


def _in_zone(zone: dt.tzinfo | None) -> AbstractContextManager[Any]:
    """Dates render in `zone` (the reseller's) when given."""
    return timezone.override(zone) if zone is not None else nullcontext()


def _language_of(language: str | None) -> str:
    return language if language and language_valid(language) else settings.LANGUAGE_CODE


def render_event(
    reseller_id: int, event: str, context: dict[str, Any], *, livemode: bool = True,
    zone: dt.tzinfo | None = None, language: str | None = None,
) -> Rendered:
    """The reseller's template for the event in `language` if it has one, else the default
    in that language (then English), rendered with that language active (month names,
    number formats).

    Dates show in `zone` (the reseller's) when given.
    """
    language = _language_of(language)
    subject, text, html = _sources(reseller_id, event, language)
    with _in_zone(zone), translation.override(language):
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
    zone: dt.tzinfo | None = None, language: str | None = None,
) -> str:
    """Only the subject of render_event: what an outbox row shows before it is rendered.

    Inside `publishing_many` (a sweep batch) a subject is rendered once per
    distinct value of the names it reads: a template's output depends on those
    values only, and most subjects read one name or none ("expires in 3 days").
    """
    language = _language_of(language)
    source = _sources(reseller_id, event, language)[0]
    context = with_amount(context, language=language)
    memo: dict[Any, Any] = memoized(("subjects",), dict)
    shapes: set[tuple[str, ...]] = memo.setdefault((source, zone, language), set())
    try:
        for names in shapes:
            found = memo.get((source, zone, language, names,
                              tuple(context.get(name, _MISSING) for name in names)))
            if found is not None:
                return str(found) if livemode else f"[TEST] {found}"[:255]
    except TypeError:  # a value that cannot be a key: render every time
        shapes = set()
    reads = _Reads(context)
    with _in_zone(zone), translation.override(language):
        subject = _subject(source, reads)
    names = tuple(sorted(reads.names))
    try:
        memo[(source, zone, language, names,
              tuple(context.get(name, _MISSING) for name in names))] = subject
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
                        zone=zone_named(time_zone), language=message.language)


def template_check(
    *, event: str, subject: str, text: str, html: str = "", language: str = ENGLISH,
    context: dict[str, Any] | None = None,
) -> Rendered:
    """Render the templates with the sample context in `language`; a clear error if they do
    not render.

    `context` replaces sample values (the reseller's own name in its preview, say).
    """
    sample = {**SAMPLE_CONTEXT, **(context or {})}
    if event not in Event.values:
        raise ValidationError(f"{event!r} is not an event.", code="invalid_event", param="event")
    language_code(language)
    if not subject.strip():
        raise ValidationError("A template needs a subject.", code="required", param="subject")
    if not text.strip():
        raise ValidationError("A template needs a text body.", code="required", param="text")
    for name, source in (("subject", subject), ("text", text), ("html", html)):
        try:
            engine = _engine_html if name == "html" else _engine_text
            with translation.override(language):
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
    with translation.override(language):
        return _render(subject, text, html, sample)


def template_preview(
    reseller_id: int, event: str, language: str | None = None, *,
    context: dict[str, Any] | None = None,
) -> Rendered:
    """The event's email as the reseller's subscribers in `language` would get it, with
    sample values (`context` replaces some of them)."""
    return render_event(reseller_id, event, {**SAMPLE_CONTEXT, **(context or {})},
                        language=language)
