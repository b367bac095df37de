"""The reseller's lifecycle settings: validation and the one service that writes them.

The reactivation policy and the timezone are columns of the Reseller row
(apps.accounts); they are edited here together with the rest, so the admin
form and the dashboard show one page of settings.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction

from apps.accounts.models import ReactivationPolicy, Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record, snapshot
from apps.core.actors import Actor
from apps.core.errors import ValidationError
from apps.core.validation import whole_number

from ..models import MAX_REMINDER_OFFSET_DAYS, SubscriptionSettings

SETTINGS_FIELDS = [
    "reminder_offsets", "grace_hours", "termination_after_days", "dunning_reminder_days",
    "dunning_suspend_days", "dunning_terminate_days", "renewal_lead_days", "credit_floor",
    "low_credit_recipients",
]
RESELLER_FIELDS = ["reactivation_policy", "timezone"]
MAX_GRACE_HOURS = 24 * 366
MAX_DAYS = 3650


def _whole(value: object, name: str, *, low: int, high: int, what: str) -> int:
    return whole_number(value, field=name, minimum=low, maximum=high,
                        message=f"{what} is a whole number from {low} to {high}.")


def parse_offsets(value: object) -> list[int]:
    """Offsets as a sorted list of distinct whole days 0..60, from a list or "7, 3, 1, 0"."""
    items: list[object]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    offsets = set()
    for item in items:
        # A form gives text: digits as they are written, no sign, no leading zero.
        number = item
        if isinstance(item, str) and re.fullmatch(r"0|[1-9][0-9]*", item.strip()):
            number = int(item.strip())
        offsets.add(whole_number(
            number, field="reminder_offsets", minimum=0, maximum=MAX_REMINDER_OFFSET_DAYS,
            code="invalid_offset",
            message=f"Reminder offsets are whole days from 0 to {MAX_REMINDER_OFFSET_DAYS}; "
                    f"{item!r} is not.",
        ))
    return sorted(offsets, reverse=True)


def parse_recipients(value: str) -> str:
    addresses = [a.strip() for a in (value or "").split(",") if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except DjangoValidationError:
            raise ValidationError(f"{address!r} is not an email address.", code="invalid_email",
                                  param="low_credit_recipients") from None
    return ", ".join(addresses)


def subscription_settings_validate(values: dict[str, Any]) -> dict[str, Any]:
    """Clean values, or a clear error for the first bad one. Shared by the service and the form."""
    clean = dict(values)
    if "reminder_offsets" in values:
        clean["reminder_offsets"] = parse_offsets(values["reminder_offsets"])
    if "grace_hours" in values:
        _whole(values["grace_hours"], "grace_hours", low=0, high=MAX_GRACE_HOURS,
               what="The grace period in hours")
    for name, what in (("termination_after_days", "Days from suspension to termination"),
                       ("dunning_reminder_days", "Days to the payment reminder"),
                       ("dunning_suspend_days", "Days to the suspension"),
                       ("dunning_terminate_days", "Days to the termination")):
        if name in values:
            _whole(values[name], name, low=0, high=MAX_DAYS, what=what)
    if "renewal_lead_days" in values:
        _whole(values["renewal_lead_days"], "renewal_lead_days", low=0,
               high=MAX_REMINDER_OFFSET_DAYS, what="The renewal lead time in days")
    if "credit_floor" in values:
        _whole(values["credit_floor"], "credit_floor", low=0, high=10_000_000,
               what="The credit floor")
    if "low_credit_recipients" in values:
        clean["low_credit_recipients"] = parse_recipients(values["low_credit_recipients"])
    if "reactivation_policy" in values and values["reactivation_policy"] not in \
            ReactivationPolicy.values:
        raise ValidationError("The reactivation policy is from_expiry or from_renewal.",
                              code="invalid", param="reactivation_policy")
    if "timezone" in values:
        try:
            zoneinfo.ZoneInfo(str(values["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{values['timezone']!r} is not a timezone (Europe/Madrid).",
                                  code="invalid_timezone", param="timezone") from None
    return clean


def subscription_settings_update(
    *, actor: Actor, reseller: Reseller, now: dt.datetime | None = None, **values: Any
) -> SubscriptionSettings:
    """Change the lifecycle settings (and the reseller's reactivation policy and timezone)."""
    authorize(actor, reseller, Perm.SETTINGS_MANAGE)
    unknown = set(values) - set(SETTINGS_FIELDS) - set(RESELLER_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.", code="invalid")
    clean = subscription_settings_validate(values)
    with transaction.atomic():
        locked = Reseller.objects.select_for_update().get(pk=reseller.pk)
        config, _ = SubscriptionSettings.objects.select_for_update().get_or_create(
            reseller=locked
        )
        before = {**snapshot(config, SETTINGS_FIELDS), **snapshot(locked, RESELLER_FIELDS)}
        merged = {**before, **clean}
        if not (merged["dunning_reminder_days"] <= merged["dunning_suspend_days"]
                <= merged["dunning_terminate_days"]):
            raise ValidationError(
                "Failed-payment rules go in order: reminder, then suspension, then termination.",
                code="invalid_dunning_order", param="dunning_suspend_days",
            )
        for name in SETTINGS_FIELDS:
            if name in clean:
                setattr(config, name, clean[name])
        config.save()
        reseller_changes = {name: clean[name] for name in RESELLER_FIELDS if name in clean}
        if reseller_changes:
            Reseller.objects.filter(pk=locked.pk).update(**reseller_changes)
            for name, value in reseller_changes.items():
                setattr(reseller, name, value)
        audit_record(actor=actor, reseller_id=reseller.pk, action="subscriptions.settings",
                     obj=config, before=before, after=merged, now=now)
    return config


# The collectors the payments app ships (apps.payments.collectors.DEFAULT_COLLECTORS);
# settings.RENEWAL_COLLECTORS adds more by name. Named here so that the account's setting
# is checked without the lifecycle importing the payments layer above it.
BUILT_IN_RENEWAL_SOURCES = ("external", "complimentary")


def renewal_sources() -> list[str]:
    """The names an account's renewal_source may take: a collector for each."""
    return sorted({*BUILT_IN_RENEWAL_SOURCES,
                   *getattr(django_settings, "RENEWAL_COLLECTORS", {})})


def validate_renewal_source(source: object) -> str:
    if not isinstance(source, str) or source not in renewal_sources():
        raise ValidationError(
            f"The renewal source is one of {', '.join(renewal_sources())}.",
            code="invalid_renewal_source", param="renewal_source",
        )
    return source

