from __future__ import annotations

import datetime as dt

import pytest

from apps.core.errors import ValidationError
from apps.subscriptions.models import Subscriber
from apps.subscriptions.services import subscriber_create, subscriber_update

from ..conftest import NOW, SYSTEM


def test_duplicate_external_id_is_refused_and_nothing_written(reseller) -> None:
    subscriber_create(actor=SYSTEM, reseller=reseller, name="A", external_id="WHMCS-1")
    with pytest.raises(ValidationError) as raised:
        subscriber_create(actor=SYSTEM, reseller=reseller, name="B", external_id="WHMCS-1")
    assert (raised.value.code, raised.value.param) == ("duplicate_external_id", "external_id")
    assert Subscriber.objects.filter(reseller=reseller).count() == 1


def test_external_id_is_unique_per_reseller_and_mode(reseller) -> None:
    from ..factories import ResellerFactory

    subscriber_create(actor=SYSTEM, reseller=reseller, name="A", external_id="7")
    subscriber_create(actor=SYSTEM, reseller=reseller, name="A", external_id="7", livemode=False)
    other = ResellerFactory.create()
    subscriber_create(actor=SYSTEM, reseller=other, name="A", external_id="7")
    subscriber_create(actor=SYSTEM, reseller=reseller, name="No id 1")
    subscriber_create(actor=SYSTEM, reseller=reseller, name="No id 2")
    assert Subscriber.objects.filter(reseller__in=[reseller, other]).count() == 5


def test_update_to_a_taken_external_id_is_refused(reseller) -> None:
    subscriber_create(actor=SYSTEM, reseller=reseller, name="A", external_id="1")
    other = subscriber_create(actor=SYSTEM, reseller=reseller, name="B", external_id="2")
    with pytest.raises(ValidationError) as raised:
        subscriber_update(actor=SYSTEM, subscriber=other, external_id="1")
    assert raised.value.code == "duplicate_external_id"
    other.refresh_from_db()
    assert other.external_id == "2"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"name": " "}, "required"),
        ({"email": "not-an-address"}, "invalid_email"),
        ({"country": "Spain"}, "invalid_country"),
        ({"marketing_consent": True}, "consent_source_required"),
        ({"external_id": ""}, "invalid"),
    ],
)
def test_bad_subscriber_input(reseller, kwargs, code) -> None:
    with pytest.raises(ValidationError) as raised:
        subscriber_create(actor=SYSTEM, reseller=reseller, **{"name": "Ana", **kwargs})
    assert raised.value.code == code
    assert not Subscriber.objects.filter(reseller=reseller).exists()


def test_consent_is_recorded_with_its_time_and_source(reseller) -> None:
    subscriber = subscriber_create(actor=SYSTEM, reseller=reseller, name="Ana", now=NOW,
                                   marketing_consent=True, marketing_consent_source="signup form")
    assert (subscriber.marketing_consent_at, subscriber.marketing_consent_source) == (
        NOW, "signup form",
    )
    later = NOW + dt.timedelta(days=2)
    subscriber = subscriber_update(actor=SYSTEM, subscriber=subscriber, marketing_consent=False,
                                   marketing_consent_source="email reply", now=later)
    assert (subscriber.marketing_consent, subscriber.marketing_consent_at) == (False, later)
    assert subscriber.marketing_consent_source == "email reply"
