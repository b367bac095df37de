"""The reseller's own Stripe account, one set of keys per mode: set, remove, test connection.

The secrets are stored encrypted (apps.core.crypto, as the SMTP password) and never
shown again: the page shows the last four characters of the secret key. A key of
the other mode in a slot is refused, the way Stripe's own dashboard tells test keys
from live ones by their prefix (https://docs.stripe.com/keys).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.audit.services import audit_record
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.errors import ValidationError

from . import stripe_api
from .models import StripeKeys

# What each field takes, by prefix: (test prefixes, live prefixes).
PREFIXES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "publishable_key": (("pk_test_",), ("pk_live_",)),
    "secret_key": (("sk_test_", "rk_test_"), ("sk_live_", "rk_live_")),
}
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
KIND_NAMES = {"publishable_key": "publishable key", "secret_key": "secret key"}


def mode_name(livemode: bool) -> str:
    return "live" if livemode else "test"


class KeyModeMismatch(ValidationError):
    """A key of the other mode pasted into a slot: the slot and what was pasted are named."""

    code = "key_mode_mismatch"

    def __init__(self, *, field: str, slot_livemode: bool, pasted_prefix: str) -> None:
        self.field = field
        self.slot_livemode = slot_livemode
        self.pasted_prefix = pasted_prefix
        slot, other = mode_name(slot_livemode), mode_name(not slot_livemode)
        expected = " or ".join(PREFIXES[field][slot_livemode])
        super().__init__(
            f"The {slot}-mode {KIND_NAMES[field]} takes a key starting {expected}; "
            f"the key pasted is a {other}-mode key ({pasted_prefix}...).", param=field)


class KeyNotRecognised(ValidationError):
    """Not a Stripe key of the kind the field takes (a secret key in the publishable slot...)."""

    code = "invalid_key"

    def __init__(self, *, field: str, slot_livemode: bool) -> None:
        self.field = field
        self.slot_livemode = slot_livemode
        if field == "webhook_secret":
            message = "A webhook signing secret starts whsec_."
        else:
            expected = " or ".join(PREFIXES[field][slot_livemode])
            message = (f"This is not a Stripe {KIND_NAMES[field]}: it starts "
                       f"{expected}.")
        super().__init__(message, param=field)


def _prefix(value: str) -> str:
    """The part of a key before its random part (sk_test_, pk_live_), safe to show."""
    parts = value.split("_")
    return "_".join(parts[:2]) + "_" if len(parts) > 2 else ""


def _check_key(field: str, value: str, livemode: bool) -> None:
    mine, other = PREFIXES[field][livemode], PREFIXES[field][not livemode]
    if value.startswith(mine) and len(value) > len(_prefix(value)):
        return
    if value.startswith(other):
        raise KeyModeMismatch(field=field, slot_livemode=livemode,
                              pasted_prefix=_prefix(value))
    raise KeyNotRecognised(field=field, slot_livemode=livemode)


def secret_hint(secret_key: str) -> str:
    return "••••" + secret_key[-4:]


def _audit_view(keys: StripeKeys | None) -> dict[str, object] | None:
    """What the audit row keeps: never a secret, only that one is set and its hint."""
    if keys is None:
        return None
    return {"livemode": keys.livemode, "publishable_key": keys.publishable_key,
            "secret_key_hint": keys.secret_key_hint,
            "webhook_secret_set": bool(keys.webhook_secret_encrypted)}


def stripe_keys_set(*, actor: Actor, reseller: Reseller, livemode: bool, publishable_key: str,
                    secret_key: str, webhook_secret: str,
                    now: dt.datetime | None = None) -> StripeKeys:
    """Save the keys of one mode. An empty secret (or webhook secret) keeps the stored one."""
    authorize(actor, reseller, Perm.PAYMENTS_SETTINGS)
    now = now or timezone.now()
    publishable_key, secret_key = publishable_key.strip(), secret_key.strip()
    webhook_secret = webhook_secret.strip()
    if not publishable_key:
        raise ValidationError("The publishable key is required.", code="required",
                              param="publishable_key")
    _check_key("publishable_key", publishable_key, livemode)
    if secret_key:
        _check_key("secret_key", secret_key, livemode)
    if webhook_secret and (not webhook_secret.startswith(WEBHOOK_SECRET_PREFIX)
                           or len(webhook_secret) <= len(WEBHOOK_SECRET_PREFIX)):
        raise KeyNotRecognised(field="webhook_secret", slot_livemode=livemode)
    with transaction.atomic():
        keys = (StripeKeys.objects.select_for_update()
                .filter(reseller=reseller, livemode=livemode).first())
        before = _audit_view(keys)
        if keys is None:
            if not secret_key:
                raise ValidationError("The secret key is required.", code="required",
                                      param="secret_key")
            keys = StripeKeys(reseller=reseller, livemode=livemode)
        changed_secret = bool(secret_key) and (
            not keys.secret_key_encrypted
            or crypto.decrypt(keys.secret_key_encrypted) != secret_key)
        keys.publishable_key = publishable_key
        if secret_key:
            keys.secret_key_encrypted = crypto.encrypt(secret_key)
            keys.secret_key_hint = secret_hint(secret_key)
        if webhook_secret:
            keys.webhook_secret_encrypted = crypto.encrypt(webhook_secret)
        if changed_secret or (before and before["publishable_key"] != publishable_key):
            # What "Test connection" found was about other keys.
            keys.checked_at, keys.check_ok, keys.check_result = None, None, ""
        keys.updated_at = now
        keys.save()
        after = {**(_audit_view(keys) or {}), "secret_key_changed": bool(secret_key),
                 "webhook_secret_changed": bool(webhook_secret)}
        audit_record(actor=actor, reseller_id=reseller.pk, action="stripe_keys.set", obj=keys,
                     before=before, after=after, now=now)
    return keys


def stripe_keys_remove(*, actor: Actor, reseller: Reseller, livemode: bool,
                       now: dt.datetime | None = None) -> bool:
    """Forget the keys of one mode: card payments go off in it. False when there were none."""
    authorize(actor, reseller, Perm.PAYMENTS_SETTINGS)
    now = now or timezone.now()
    with transaction.atomic():
        keys = (StripeKeys.objects.select_for_update()
                .filter(reseller=reseller, livemode=livemode).first())
        if keys is None:
            return False
        before = _audit_view(keys)
        audit_record(actor=actor, reseller_id=reseller.pk, action="stripe_keys.remove",
                     obj=keys, before=before, after=None, now=now)
        keys.delete()
    return True


@dataclass(frozen=True)
class KeysCheck:
    """What "Test connection" found: ok, and a line saying what."""

    ok: bool
    message: str
    # The reason it failed: "no_keys", "rejected" (keys refused), "unavailable" (no answer).
    reason: str = ""


def stripe_keys_check(*, actor: Actor, reseller: Reseller, livemode: bool,
                      now: dt.datetime | None = None) -> KeysCheck:
    """One harmless Stripe call with the mode's keys; the answer is kept on the keys row.

    The call is made outside any transaction; Stripe's refusals and silences become
    a failed check, never an error.
    """
    authorize(actor, reseller, Perm.PAYMENTS_SETTINGS)
    now = now or timezone.now()
    keys = stripe_api.keys_for(reseller.pk, livemode)
    if keys is None:
        return KeysCheck(False, f"No Stripe keys are set for {mode_name(livemode)} mode.",
                         "no_keys")
    try:
        result = KeysCheck(True, stripe_api.account_check(keys))
    except stripe_api.StripeRejected as error:
        result = KeysCheck(False, f"Stripe refused the keys: {error.message}", "rejected")
    except stripe_api.StripeUnavailable as error:
        result = KeysCheck(False, f"Stripe did not answer: {error}", "unavailable")
    except stripe_api.StripeDeclined as error:  # not expected from a balance read
        result = KeysCheck(False, f"Stripe refused the call: {error.message}", "rejected")
    with transaction.atomic():
        # Only the row that was checked: keys saved meanwhile keep their own state.
        updated = StripeKeys.objects.filter(pk=keys.pk, updated_at=keys.updated_at).update(
            checked_at=now, check_ok=result.ok, check_result=result.message[:255])
        if updated:
            audit_record(actor=actor, reseller_id=reseller.pk, action="stripe_keys.check",
                         obj=keys, before=None,
                         after={"livemode": livemode, "ok": result.ok,
                                "result": result.message[:255]}, now=now)
    return result
