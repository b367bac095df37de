from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from apps.audit.models import AuditEntry
from apps.core.errors import NotFound, PermissionDenied, ValidationError
from apps.subscriptions.credentials import USERNAME_RE
from apps.subscriptions.models import ServiceAccount
from apps.subscriptions.services import (
    account_create,
    account_credentials_reveal,
    account_renew,
    account_reset_password,
)

from ..conftest import NOW, SYSTEM, grant, staff
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory


def reveal(reseller, account_id: int) -> tuple[str, str]:
    return account_credentials_reveal(actor=SYSTEM, reseller=reseller, account_id=account_id)


def test_generated_credentials_are_strong_and_readable(reseller, plan, subscriber) -> None:
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    assert USERNAME_RE.match(account.username)
    assert account.username.startswith("anagarcia")
    assert len(password) >= 16
    assert any(c.isupper() for c in password) and any(c.isdigit() for c in password)
    assert not set(password) & set("0O1lI")


def test_password_is_never_stored_in_clear(reseller, plan, subscriber) -> None:
    account, password = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM subscriptions_serviceaccount WHERE id = %s", [account.pk])
        row = cursor.fetchone()
    assert password not in " ".join(str(value) for value in row)
    audit_text = " ".join(str(a.before) + str(a.after) for a in AuditEntry.objects.all())
    assert password not in audit_text
    assert reveal(reseller, account.pk) == (account.username, password)


def test_a_renewal_keeps_the_credentials(active_account, reseller) -> None:
    before = reveal(reseller, active_account.pk)
    account_renew(actor=SYSTEM, account=active_account, now=NOW)
    assert reveal(reseller, active_account.pk) == before


def test_a_reset_changes_the_password_and_keeps_the_username(active_account, reseller) -> None:
    username, old_password = reveal(reseller, active_account.pk)
    account, new_password = account_reset_password(actor=SYSTEM, account=active_account, now=NOW)
    assert new_password != old_password
    assert reveal(reseller, account.pk) == (username, new_password)
    assert account.events.filter(action="reset_password").count() == 1


def test_usernames_are_unique_per_reseller_not_across(reseller, plan) -> None:
    grant(reseller, 5)
    account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                   plan=plan, username="maria.tv", now=NOW)
    with pytest.raises(ValidationError) as raised:
        account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(reseller=reseller),
                       plan=plan, username="maria.tv", now=NOW)
    assert raised.value.code == "username_taken"
    assert ServiceAccount.objects.filter(username="maria.tv").count() == 1
    other = ResellerFactory.create()
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=other), plan=PlanFactory.create(reseller=other), username="maria.tv", now=NOW)
    assert account.username == "maria.tv"


def test_another_unique_violation_is_its_own_error_not_a_taken_username(reseller, plan,
                                                                        subscriber) -> None:
    # A stand-in for any other unique key an account row may break (this test's
    # transaction drops it again): only account_username_unique means "taken".
    with connection.cursor() as cursor:
        cursor.execute("CREATE UNIQUE INDEX test_one_account_per_subscriber "
                       "ON subscriptions_serviceaccount (subscriber_id)")
    grant(reseller, 5)
    account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, username="first.one", now=NOW)
    with pytest.raises(IntegrityError, match="test_one_account_per_subscriber"):
        account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, username="free.name",
                       now=NOW)


@pytest.mark.parametrize("username", ["ab", "Has Space", "UPPER", "-lead", "x" * 41, "ñandú"])
def test_bad_usernames_are_refused(reseller, plan, subscriber, username: str) -> None:
    with pytest.raises(ValidationError) as raised:
        account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, username=username, now=NOW)
    assert raised.value.code == "invalid_username"
    assert not ServiceAccount.objects.exists()


def test_revealing_credentials_is_audited_and_needs_the_permission(active_account, reseller):
    support = staff(reseller, "support")
    account_credentials_reveal(actor=support, reseller=reseller, account_id=active_account.pk)
    assert AuditEntry.objects.filter(action="account.reveal_credentials",
                                     actor_user=support.user).count() == 1


def test_a_refused_reveal_writes_no_audit_row(active_account, reseller) -> None:
    viewer = staff(reseller, "viewer")
    with pytest.raises(PermissionDenied):
        account_credentials_reveal(actor=viewer, reseller=reseller, account_id=active_account.pk)
    other = ResellerFactory.create()
    with pytest.raises(NotFound):
        account_credentials_reveal(actor=SYSTEM, reseller=other, account_id=active_account.pk)
    assert not AuditEntry.objects.filter(action="account.reveal_credentials").exists()
