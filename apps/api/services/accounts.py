"""Accounts opened over the API: find or create the subscriber, then the account."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from apps.accounts.models import Reseller
from apps.core.actors import Actor
from apps.core.db import fetch_one
from apps.core.errors import ValidationError
from apps.core.events import publishing_many
from apps.subscriptions.models import ServiceAccount, Subscriber
from apps.subscriptions.services import (
    account_create,
    plan_for_sale,
    subscriber_create,
)

# ---------------------------------------------------------------- accounts over the API


def _find_or_create_subscriber(
    *, actor: Actor, reseller: Reseller, livemode: bool, data: dict[str, Any]
) -> Subscriber:
    external_id = (data.get("external_id") or "").strip() or None
    email = (data.get("email") or "").strip().lower()
    mine = Subscriber.objects.filter(reseller=reseller, livemode=livemode)
    found: Subscriber | None
    if external_id:
        # Prepared on PostgreSQL: every create asks (bench/api.py, b3ac8b6).
        found = fetch_one(Subscriber, reseller_id=reseller.pk, livemode=livemode,
                          external_id=external_id)
        if found is not None:
            found.reseller = reseller
            return found
    elif email:
        found = mine.filter(email=email).order_by("id").first()
        if found is not None:
            return found
    if not external_id and not email:
        raise ValidationError("The subscriber needs an external_id or an email.",
                              code="required", param="subscriber")
    name = (data.get("name") or "").strip() or email or external_id or ""
    try:
        # No savepoint: subscriber_create refuses a taken external_id without a failed statement.
        return subscriber_create(actor=actor, reseller=reseller, name=name, email=email,
                                 external_id=external_id, livemode=livemode)
    except ValidationError as error:
        if error.code != "duplicate_external_id":
            raise
    # Created by a concurrent request a moment ago.
    return mine.get(external_id=external_id)


def api_account_create(
    *,
    actor: Actor,
    reseller: Reseller,
    livemode: bool,
    subscriber: dict[str, Any],
    plan_id: int,
    months: int | None = None,
    username: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ServiceAccount, str]:
    """Create an account for a subscriber found by external id, else email, else created."""
    with transaction.atomic(), publishing_many():
        plan = plan_for_sale(reseller.pk, plan_id)
        found = _find_or_create_subscriber(actor=actor, reseller=reseller, livemode=livemode,
                                           data=subscriber)
        return account_create(actor=actor, subscriber=found, plan=plan, months=months,
                              username=username, now=now)


