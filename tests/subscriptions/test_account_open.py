"""account_open: the one create the dashboard's new-account page and the API's POST share."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.core.errors import NotFound, PermissionDenied, ValidationError
from apps.subscriptions.models import ServiceAccount, Subscriber
from apps.subscriptions.services import SubscriberDetails, account_open

from ..conftest import NOW, SYSTEM, grant, staff
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory


def test_opens_an_account_for_an_existing_subscriber_with_its_renewal_source(
        reseller, plan, subscriber) -> None:
    grant(reseller, 5)
    owner = staff(reseller, "owner")
    account, password = account_open(actor=owner, reseller=reseller, subscriber=subscriber.pk,
                                     plan_id=plan.pk, months=2, renewal_source="complimentary",
                                     now=NOW)
    account.refresh_from_db()
    assert (account.subscriber_id, account.status, account.renewal_source) == (
        subscriber.pk, "active", "complimentary")
    assert password
    assert AuditEntry.objects.filter(action="account.set_renewal",
                                     object_id=str(account.pk)).count() == 1


def test_without_a_renewal_source_the_default_stays(reseller, plan, subscriber) -> None:
    account, _ = account_open(actor=SYSTEM, reseller=reseller, subscriber=subscriber.pk,
                              plan_id=plan.pk, now=NOW)
    account.refresh_from_db()
    assert account.renewal_source == "external"


def test_finds_the_subscriber_by_external_id_then_email_else_creates_one(reseller, plan):
    known = SubscriberFactory.create(reseller=reseller, external_id="whmcs-7",
                                     email="known@example.com")
    by_id, _ = account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
                            subscriber=SubscriberDetails(external_id="whmcs-7"))
    by_email, _ = account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
                               subscriber=SubscriberDetails(email=" Known@Example.com "))
    new, _ = account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
                          subscriber=SubscriberDetails(external_id="whmcs-8",
                                                       email="new@example.com"))
    assert by_id.subscriber_id == by_email.subscriber_id == known.pk
    created = Subscriber.objects.get(pk=new.subscriber_id)
    assert (created.external_id, created.email, created.name) == (
        "whmcs-8", "new@example.com", "new@example.com")


def test_without_matching_a_new_subscriber_is_made_even_for_a_known_email(reseller, plan):
    known = SubscriberFactory.create(reseller=reseller, email="same@example.com")
    account, _ = account_open(
        actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
        subscriber=SubscriberDetails(name="Second Person", email="same@example.com",
                                     match_existing=False))
    assert account.subscriber_id != known.pk
    assert Subscriber.objects.get(pk=account.subscriber_id).name == "Second Person"


def test_neither_external_id_nor_email_is_refused(reseller, plan) -> None:
    with pytest.raises(ValidationError) as raised:
        account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
                     subscriber=SubscriberDetails(name="Nobody"))
    assert (raised.value.code, raised.value.param) == ("required", "subscriber")
    assert not Subscriber.objects.filter(name="Nobody").exists()


def test_another_resellers_subscriber_or_plan_is_not_found(reseller, plan) -> None:
    other = ResellerFactory.create()
    stranger = SubscriberFactory.create(reseller=other)
    with pytest.raises(NotFound) as raised:
        account_open(actor=SYSTEM, reseller=reseller, subscriber=stranger.pk, plan_id=plan.pk)
    assert raised.value.param == "subscriber"
    with pytest.raises(NotFound) as raised:
        account_open(actor=SYSTEM, reseller=reseller, plan_id=PlanFactory.create(reseller=other).pk,
                     subscriber=SubscriberDetails(email="x@example.com"))
    assert raised.value.code == "plan_not_found"
    assert not ServiceAccount.objects.exists()
    assert not Subscriber.objects.filter(email="x@example.com").exists()


def test_a_test_mode_open_never_uses_a_live_subscriber(reseller, plan, subscriber) -> None:
    with pytest.raises(NotFound):
        account_open(actor=SYSTEM, reseller=reseller, subscriber=subscriber.pk, plan_id=plan.pk,
                     livemode=False)


@pytest.mark.parametrize("refusal", ["username_taken", "invalid_renewal_source",
                                     "invalid_months"])
def test_a_refusal_at_any_step_leaves_no_subscriber_and_no_account(
        reseller, plan, subscriber, refusal: str) -> None:
    grant(reseller, 5)
    account_open(actor=SYSTEM, reseller=reseller, subscriber=subscriber.pk, plan_id=plan.pk,
                 username="taken.name", now=NOW)
    by_refusal: dict[str, dict[str, Any]] = {
        "username_taken": {"username": "taken.name"},
        "invalid_renewal_source": {"renewal_source": "carrier-pigeon"},
        "invalid_months": {"months": 0},
    }
    kwargs = by_refusal[refusal]
    accounts, subscribers, audits = (ServiceAccount.objects.count(), Subscriber.objects.count(),
                                     AuditEntry.objects.count())
    with pytest.raises(ValidationError) as raised:
        account_open(actor=SYSTEM, reseller=reseller, plan_id=plan.pk, now=NOW,
                     subscriber=SubscriberDetails(name="Half", email="half@example.com",
                                                  match_existing=False), **kwargs)
    assert raised.value.code == refusal
    assert (ServiceAccount.objects.count(), Subscriber.objects.count(),
            AuditEntry.objects.count()) == (accounts, subscribers, audits)
    reseller.refresh_from_db()
    assert reseller.credit_balance == 4


def test_the_actor_is_checked_before_anything_is_read_or_written(reseller, plan) -> None:
    support = staff(reseller, "support")  # may manage subscribers, not create accounts
    with pytest.raises(PermissionDenied):
        account_open(actor=support, reseller=reseller, plan_id=10**9,
                     subscriber=SubscriberDetails(name="Eve", email="eve@example.com",
                                                  match_existing=False))
    outsider = staff(ResellerFactory.create(), "owner")
    with pytest.raises(NotFound):
        account_open(actor=outsider, reseller=reseller, plan_id=plan.pk,
                     subscriber=SubscriberDetails(email="eve@example.com"))
    assert not Subscriber.objects.filter(email="eve@example.com").exists()
