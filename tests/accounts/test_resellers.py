from __future__ import annotations

import pytest

from apps.accounts.models import Reseller
from apps.accounts.services import reseller_create, reseller_update
from apps.core.errors import PermissionDenied, ValidationError

from ..conftest import SYSTEM, staff


def test_provider_creates_a_reseller(db) -> None:
    reseller = reseller_create(actor=SYSTEM, name="Acme TV", contact_email="boss@acme.example",
                               base_currency="USD", timezone="America/Mexico_City", country="MX")
    assert (reseller.slug, reseller.base_currency, reseller.credit_balance) == ("acme-tv", "USD", 0)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"base_currency": "EURO"}, "invalid_currency"),
        ({"base_currency": "ABC"}, "invalid_currency"),
        ({"base_currency": "eur"}, "invalid_currency"),
        ({"timezone": "Mars/Olympus"}, "invalid_timezone"),
        ({"country": "esp"}, "invalid_country"),
        ({"contact_email": "nobody"}, "invalid_email"),
        ({"reactivation_policy": "whenever"}, "invalid_reactivation_policy"),
        ({"name": ""}, "required"),
    ],
)
def test_bad_reseller_input_is_refused(db, kwargs, code) -> None:
    values = {"name": "Acme", "contact_email": "a@acme.example", **kwargs}
    with pytest.raises(ValidationError) as raised:
        reseller_create(actor=SYSTEM, **values)
    assert raised.value.code == code
    assert not Reseller.objects.exists()


def test_reseller_staff_cannot_create_resellers(reseller) -> None:
    with pytest.raises(PermissionDenied):
        reseller_create(actor=staff(reseller, "owner"), name="Mine", contact_email="a@b.example")


def test_owner_updates_settings_with_validation(reseller) -> None:
    owner = staff(reseller, "owner")
    reseller_update(actor=owner, reseller=reseller, reactivation_policy="from_renewal")
    reseller.refresh_from_db()
    assert reseller.reactivation_policy == "from_renewal"
    with pytest.raises(ValidationError):
        reseller_update(actor=owner, reseller=reseller, base_currency="XXX1")
    reseller.refresh_from_db()
    assert reseller.base_currency == "EUR"
