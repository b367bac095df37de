"""The reseller's Stripe keys: the mode of each key, encryption at rest, keep-on-blank,
"Test connection" against localstripe, and the audit trail without a secret."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from apps.accounts.models import Reseller, Role
from apps.audit.models import AuditEntry
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.errors import NotFound, PermissionDenied, ValidationError
from apps.payments import stripe_api
from apps.payments.models import StripeKeys
from apps.payments.selectors import card_payments_on, stripe_keys_of
from apps.payments.stripe_keys import (
    KeyModeMismatch,
    stripe_keys_check,
    stripe_keys_remove,
    stripe_keys_set,
)

from ..conftest import NOW, staff
from ..factories import ResellerFactory
from ..stripe_server import StripeServer

pytestmark = pytest.mark.django_db

SK_TEST = "sk_test_51Secret0000aaaa9876"
SK_LIVE = "sk_live_51Secret0000bbbb5432"
WHSEC = "whsec_signing0000secret"


@pytest.fixture
def owner(reseller: Reseller) -> Actor:
    return staff(reseller, Role.OWNER)


def set_keys(actor: Actor, reseller: Reseller, *, livemode: bool = False,
             publishable: str | None = None, secret: str | None = None,
             webhook: str = WHSEC) -> StripeKeys:
    mode = "live" if livemode else "test"
    return stripe_keys_set(
        actor=actor, reseller=reseller, livemode=livemode,
        publishable_key=publishable if publishable is not None else f"pk_{mode}_51Pub000",
        secret_key=secret if secret is not None else (SK_LIVE if livemode else SK_TEST),
        webhook_secret=webhook, now=NOW)


def test_keys_are_saved_per_mode_and_turn_card_payments_on_for_that_mode_only(
        owner: Actor, reseller: Reseller) -> None:
    assert not card_payments_on(reseller, False)

    keys = set_keys(owner, reseller)

    assert (keys.livemode, keys.publishable_key, keys.secret_key_hint) == (
        False, "pk_test_51Pub000", "••••9876")
    assert card_payments_on(reseller, False)
    assert not card_payments_on(reseller, True)
    assert stripe_keys_of(reseller, actor=owner) == {False: keys, True: None}


@pytest.mark.parametrize(("livemode", "field", "value", "pasted"), [
    (False, "publishable_key", "pk_live_51Pub000", "pk_live_"),
    (False, "secret_key", SK_LIVE, "sk_live_"),
    (False, "secret_key", "rk_live_51Restricted", "rk_live_"),
    (True, "publishable_key", "pk_test_51Pub000", "pk_test_"),
    (True, "secret_key", SK_TEST, "sk_test_"),
])
def test_a_key_of_the_other_mode_is_refused_naming_the_slot_and_never_the_secret(
        owner: Actor, reseller: Reseller, livemode: bool, field: str, value: str,
        pasted: str) -> None:
    values: dict[str, str | None] = {"publishable": None, "secret": None}
    values["publishable" if field == "publishable_key" else "secret"] = value

    with pytest.raises(KeyModeMismatch) as caught:
        set_keys(owner, reseller, livemode=livemode, **values)  # type: ignore[arg-type]

    error = caught.value
    assert (error.code, error.param, error.pasted_prefix) == ("key_mode_mismatch", field, pasted)
    slot = "live" if livemode else "test"
    assert f"The {slot}-mode" in error.message and pasted in error.message
    assert value[len(pasted):] not in error.message
    assert not StripeKeys.objects.exists()


@pytest.mark.parametrize(("field", "value"), [
    ("publishable_key", SK_TEST),  # the secret key in the publishable slot
    ("secret_key", "pk_test_51Pub000"),
    ("secret_key", "sk_test_"),
    ("webhook_secret", "sk_test_123"),
])
def test_what_is_not_a_key_of_the_slots_kind_is_refused(owner: Actor, reseller: Reseller,
                                                        field: str, value: str) -> None:
    kwargs = {"publishable": None, "secret": None, "webhook": WHSEC}
    kwargs[{"publishable_key": "publishable", "secret_key": "secret",
            "webhook_secret": "webhook"}[field]] = value

    with pytest.raises(ValidationError) as caught:
        set_keys(owner, reseller, **kwargs)  # type: ignore[arg-type]

    assert (caught.value.code, caught.value.param) == ("invalid_key", field)
    assert SK_TEST[8:] not in caught.value.message


def test_restricted_keys_are_taken(owner: Actor, reseller: Reseller) -> None:
    assert set_keys(owner, reseller, secret="rk_test_51Restricted1234").secret_key_hint == "••••1234"


def test_secrets_are_encrypted_at_rest_and_only_the_hint_is_kept_in_clear(
        owner: Actor, reseller: Reseller) -> None:
    keys = set_keys(owner, reseller)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM payments_stripekeys WHERE id = %s", [keys.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert SK_TEST not in row and WHSEC not in row
    assert "9876" in row  # the hint
    assert crypto.decrypt(keys.secret_key_encrypted) == SK_TEST
    assert crypto.decrypt(keys.webhook_secret_encrypted) == WHSEC


def test_a_blank_secret_on_update_keeps_the_saved_one(owner: Actor, reseller: Reseller) -> None:
    set_keys(owner, reseller)

    keys = set_keys(owner, reseller, publishable="pk_test_51Other", secret="", webhook="")

    assert keys.publishable_key == "pk_test_51Other"
    assert crypto.decrypt(keys.secret_key_encrypted) == SK_TEST
    assert crypto.decrypt(keys.webhook_secret_encrypted) == WHSEC
    assert StripeKeys.objects.count() == 1


def test_the_first_save_needs_the_secret_key(owner: Actor, reseller: Reseller) -> None:
    with pytest.raises(ValidationError) as caught:
        set_keys(owner, reseller, secret="")

    assert (caught.value.code, caught.value.param) == ("required", "secret_key")


@pytest.mark.parametrize("role", [Role.BILLING, Role.SUPPORT, Role.VIEWER])
def test_only_owners_and_admins_set_check_or_remove_keys(reseller: Reseller, role: str) -> None:
    actor = staff(reseller, role)
    with pytest.raises(PermissionDenied):
        set_keys(actor, reseller)
    with pytest.raises(PermissionDenied):
        stripe_keys_check(actor=actor, reseller=reseller, livemode=False)
    with pytest.raises(PermissionDenied):
        stripe_keys_remove(actor=actor, reseller=reseller, livemode=False)
    assert set_keys(staff(reseller, Role.ADMIN), reseller).pk


def test_another_resellers_staff_cannot_touch_the_keys(owner: Actor, reseller: Reseller) -> None:
    other = ResellerFactory.create()
    set_keys(owner, reseller)

    with pytest.raises(NotFound):
        stripe_keys_remove(actor=staff(other, Role.OWNER), reseller=reseller, livemode=False)
    assert card_payments_on(reseller, False)


def test_removing_turns_card_payments_off_for_that_mode(owner: Actor, reseller: Reseller) -> None:
    set_keys(owner, reseller)
    set_keys(owner, reseller, livemode=True)

    assert stripe_keys_remove(actor=owner, reseller=reseller, livemode=False, now=NOW)
    assert not stripe_keys_remove(actor=owner, reseller=reseller, livemode=False, now=NOW)

    assert not card_payments_on(reseller, False)
    assert card_payments_on(reseller, True)
    with pytest.raises(stripe_api.CardPaymentsOff):
        stripe_api.require_keys(reseller.pk, False)


def test_the_audit_trail_says_what_changed_and_holds_no_secret(owner: Actor,
                                                               reseller: Reseller) -> None:
    set_keys(owner, reseller)
    set_keys(owner, reseller, secret="", webhook="")
    stripe_keys_remove(actor=owner, reseller=reseller, livemode=False, now=NOW)

    rows = list(AuditEntry.objects.filter(reseller_id=reseller.pk).order_by("id"))
    assert [r.action for r in rows] == ["stripe_keys.set", "stripe_keys.set",
                                        "stripe_keys.remove"]
    text = json.dumps([[r.before, r.after] for r in rows], default=str)
    assert SK_TEST not in text and WHSEC not in text and "encrypted" not in text
    assert (rows[0].after or {})["secret_key_changed"] is True
    assert (rows[1].after or {})["secret_key_changed"] is False


def test_test_connection_reaches_stripe_and_is_kept_on_the_keys(
        owner: Actor, reseller: Reseller, stripe_base: StripeServer) -> None:
    set_keys(owner, reseller)

    result = stripe_keys_check(actor=owner, reseller=reseller, livemode=False, now=NOW)

    assert result.ok
    assert result.message.startswith("Stripe test account reached")
    keys = StripeKeys.objects.get(reseller=reseller, livemode=False)
    assert (keys.checked_at, keys.check_ok, keys.check_result) == (NOW, True, result.message)
    assert [r.path for r in stripe_base.requests] == ["/v1/balance"]
    assert stripe_base.requests[0].api_key == SK_TEST


def test_live_keys_reach_a_live_account(owner: Actor, reseller: Reseller,
                                        stripe_base: StripeServer) -> None:
    set_keys(owner, reseller, livemode=True)

    result = stripe_keys_check(actor=owner, reseller=reseller, livemode=True, now=NOW)

    assert result.ok and "live" in result.message
    assert stripe_base.requests[0].api_key == SK_LIVE


def test_refused_keys_are_a_failed_check_not_an_error(owner: Actor, reseller: Reseller,
                                                      stripe_base: StripeServer) -> None:
    set_keys(owner, reseller)
    stripe_base.reject_key(SK_TEST)

    result = stripe_keys_check(actor=owner, reseller=reseller, livemode=False, now=NOW)

    assert (result.ok, result.reason) == (False, "rejected")
    assert "Invalid API Key" in result.message and SK_TEST not in result.message
    assert StripeKeys.objects.get(reseller=reseller).check_ok is False


def test_no_answer_is_a_failed_check(owner: Actor, reseller: Reseller,
                                     stripe_base: StripeServer, settings: object) -> None:
    set_keys(owner, reseller)
    settings.STRIPE_TIMEOUT_SECONDS = 0.3  # type: ignore[attr-defined]
    stripe_base.hang_next(1, seconds=1, method="GET", path="/v1/balance")

    result = stripe_keys_check(actor=owner, reseller=reseller, livemode=False, now=NOW)

    assert (result.ok, result.reason) == (False, "unavailable")


def test_checking_a_mode_without_keys_says_so(owner: Actor, reseller: Reseller) -> None:
    result = stripe_keys_check(actor=owner, reseller=reseller, livemode=True, now=NOW)

    assert (result.ok, result.reason) == (False, "no_keys")


def test_new_keys_forget_the_last_check(owner: Actor, reseller: Reseller,
                                        stripe_base: StripeServer) -> None:
    set_keys(owner, reseller)
    stripe_keys_check(actor=owner, reseller=reseller, livemode=False, now=NOW)

    keys = set_keys(owner, reseller, secret="sk_test_51Another0000zzzz1111")

    assert (keys.checked_at, keys.check_ok, keys.check_result) == (None, None, "")
