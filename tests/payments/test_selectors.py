"""The external payments the dashboard shows: one reseller's, one mode, the newest first."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core.errors import NotFound, PermissionDenied
from apps.payments.selectors import external_payments
from apps.payments.services import payment_record
from apps.subscriptions.services import account_create

from ..conftest import NOW, SYSTEM, Role, grant, staff
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory


def _paid_account(reseller, *references: str):
    plan = PlanFactory.create(reseller=reseller, duration_months=1)
    grant(reseller, 10, now=NOW)
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    for n, reference in enumerate(references):
        payment_record(actor=SYSTEM, reseller=reseller, livemode=True, account_id=account.pk,
                       amount=999, currency="EUR", reference=reference,
                       paid_at=NOW + dt.timedelta(minutes=n), now=NOW + dt.timedelta(hours=1))
    return account


def test_a_reseller_reads_its_own_payments_newest_first(db):
    mine, theirs = ResellerFactory.create(), ResellerFactory.create()
    account = _paid_account(mine, "INV-1", "INV-2")
    _paid_account(theirs, "INV-3")
    rows = external_payments(mine, actor=staff(mine, Role.BILLING))
    assert [p.reference for p in rows] == ["INV-2", "INV-1"]
    assert [p.reference for p in external_payments(mine, actor=SYSTEM,
                                                   account_ids=[account.pk])] == ["INV-2", "INV-1"]
    assert not external_payments(mine, actor=SYSTEM, livemode=False).exists()
    assert not external_payments(mine, actor=SYSTEM, account_ids=[]).exists()


def test_another_resellers_staff_and_the_support_role_are_refused(db):
    mine, theirs = ResellerFactory.create(), ResellerFactory.create()
    with pytest.raises(NotFound):
        external_payments(mine, actor=staff(theirs, Role.OWNER))
    with pytest.raises(PermissionDenied):
        external_payments(mine, actor=staff(mine, Role.SUPPORT))
