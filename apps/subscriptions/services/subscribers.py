"""Subscribers: the reseller's customers, their contact details and consent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.db import insert_instance
from apps.core.errors import ValidationError
from apps.core.validation import language_code

from ..models import (
    Subscriber,
)

SUBSCRIBER_FIELDS = [
    "name",
    "email",
    "phone",
    "country",
    "language",
    "marketing_consent",
    "marketing_consent_at",
    "marketing_consent_source",
    "external_id",
]


def _validate_subscriber(
    *, name: str, email: str, country: str, external_id: str | None
) -> None:
    if not name or not name.strip():
        raise ValidationError("A subscriber needs a name.", code="required", param="name")
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            raise ValidationError(
                f"{email!r} is not an email address.", code="invalid_email", param="email"
            ) from None
    if country and (len(country) != 2 or not country.isalpha() or not country.isupper()):
        raise ValidationError(
            "The country is a two-letter ISO 3166 code in capitals (for example ES).",
            code="invalid_country", param="country",
        )
    if external_id is not None and (not external_id.strip() or len(external_id) > 100):
        raise ValidationError(
            "An external id has 1 to 100 characters.", code="invalid", param="external_id"
        )


def _external_id_taken(reseller_id: int, livemode: bool, external_id: str) -> ValidationError:
    return ValidationError(
        f"A subscriber with external id {external_id!r} exists.",
        code="duplicate_external_id",
        param="external_id",
    )


def subscriber_create(
    *,
    actor: Actor,
    reseller: Reseller,
    name: str,
    email: str = "",
    phone: str = "",
    country: str = "",
    marketing_consent: bool = False,
    marketing_consent_source: str = "",
    external_id: str | None = None,
    language: str | None = None,
    livemode: bool = True,
    now: dt.datetime | None = None,
) -> Subscriber:
    """A new subscriber; its emails are in `language`, the reseller's when None."""
    authorize(actor, reseller, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    _validate_subscriber(name=name, email=email, country=country, external_id=external_id)
    language = language_code(language or reseller.language)
    if marketing_consent and not marketing_consent_source:
        raise ValidationError(
            "Marketing consent needs its source (where the subscriber gave it).",
            code="consent_source_required", param="marketing_consent_source",
        )
    subscriber = Subscriber(
        reseller=reseller,
        name=name.strip(),
        email=email.lower(),
        phone=phone,
        country=country,
        language=language,
        marketing_consent=marketing_consent,
        marketing_consent_at=now if marketing_consent else None,
        marketing_consent_source=marketing_consent_source if marketing_consent else "",
        external_id=external_id,
        livemode=livemode,
    )
    # No savepoint inside the caller's transaction: a taken external id writes nothing
    # (the API's create path, measured by bench/api.py, b3ac8b6).
    with transaction.atomic(savepoint=False):
        created = insert_instance(subscriber, skip_conflict_on="subscriber_external_id_unique")
        if created:
            audit_record(
                actor=actor, reseller_id=reseller.pk, action="subscriber.create",
                obj=subscriber, after=snapshot(subscriber, SUBSCRIBER_FIELDS), now=now,
            )
    if not created:
        # The unique (reseller, mode, external_id) constraint is the truth.
        raise _external_id_taken(reseller.pk, livemode, external_id or "")
    return subscriber


def subscriber_update(
    *,
    actor: Actor,
    subscriber: Subscriber,
    now: dt.datetime | None = None,
    **changes: Any,
) -> Subscriber:
    """Change contact details; a consent change records when and where it was given."""
    authorize(actor, subscriber.reseller_id, Perm.SUBSCRIBER_MANAGE)
    now = now or timezone.now()
    allowed = {"name", "email", "phone", "country", "language", "external_id",
               "marketing_consent", "marketing_consent_source"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    try:
        with transaction.atomic():
            subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
            before = snapshot(subscriber, SUBSCRIBER_FIELDS)
            values = {**before, **changes}
            _validate_subscriber(
                name=values["name"], email=values["email"], country=values["country"],
                external_id=values["external_id"],
            )
            language_code(values["language"])
            for field in ("name", "email", "phone", "country", "language", "external_id"):
                if field in changes:
                    setattr(subscriber, field, changes[field])
            subscriber.email = subscriber.email.lower()
            if "marketing_consent" in changes and changes["marketing_consent"] != before[
                "marketing_consent"
            ]:
                if changes["marketing_consent"]:
                    source = changes.get("marketing_consent_source", "")
                    if not source:
                        raise ValidationError(
                            "Marketing consent needs its source.",
                            code="consent_source_required", param="marketing_consent_source",
                        )
                    subscriber.marketing_consent_source = source
                else:
                    subscriber.marketing_consent_source = changes.get(
                        "marketing_consent_source", "withdrawn"
                    )
                subscriber.marketing_consent = changes["marketing_consent"]
                subscriber.marketing_consent_at = now
            subscriber.save()
            audit_record(
                actor=actor, reseller_id=subscriber.reseller_id, action="subscriber.update",
                obj=subscriber, before=before, after=snapshot(subscriber, SUBSCRIBER_FIELDS),
                now=now,
            )
    except IntegrityError:
        raise _external_id_taken(
            subscriber.reseller_id, subscriber.livemode, changes.get("external_id") or ""
        ) from None
    return subscriber


