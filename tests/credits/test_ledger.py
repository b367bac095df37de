from __future__ import annotations

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from django.db.models import Sum

from apps.accounts.models import Reseller, Role
from apps.accounts.permissions import MATRIX, Perm
from apps.core.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    PermissionDenied,
    ValidationError,
)
from apps.core.models import AppendOnlyError
from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.credits.selectors import LedgerFilter, credits_balance, credits_ledger
from apps.credits.services import credits_adjust, credits_deduct, credits_grant, credits_refund
from apps.subscriptions.services import account_create, account_renew

from ..conftest import NOW, SYSTEM, staff
from ..factories import PlanFactory, SubscriberFactory


def ledger_sum(reseller: Reseller, livemode: bool = True) -> int:
    return (
        CreditLedgerEntry.objects.filter(reseller=reseller, livemode=livemode).aggregate(
            s=Sum("delta")
        )["s"]
        or 0
    )


def test_grant_adds_credits_and_records_the_purchase(reseller: Reseller) -> None:
    entry = credits_grant(actor=SYSTEM, reseller=reseller, amount=100, reference="INV-1",
                          idempotency_key="k1", price_amount=4900, price_currency="EUR")
    reseller.refresh_from_db()
    assert reseller.credit_balance == 100
    assert (entry.kind, entry.delta, entry.balance_after) == ("purchase", 100, 100)
    assert (entry.price_amount, entry.price_currency) == (4900, "EUR")


def test_repeated_key_has_no_second_effect_and_returns_the_first_row(reseller: Reseller) -> None:
    first = credits_grant(actor=SYSTEM, reseller=reseller, amount=5, reference="R",
                          idempotency_key="same")
    again = credits_grant(actor=SYSTEM, reseller=reseller, amount=5, reference="R",
                          idempotency_key="same")
    reseller.refresh_from_db()
    assert again.pk == first.pk
    assert reseller.credit_balance == 5
    assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == 1


def test_key_reused_for_another_movement_is_refused(reseller: Reseller) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=5, reference="R", idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):
        credits_grant(actor=SYSTEM, reseller=reseller, amount=6, reference="R",
                      idempotency_key="k")
    reseller.refresh_from_db()
    assert reseller.credit_balance == 5


def test_deduct_beyond_the_balance_raises_and_writes_nothing(reseller: Reseller) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=3, reference="R", idempotency_key="g")
    with pytest.raises(InsufficientCredits) as raised:
        credits_deduct(actor=SYSTEM, reseller=reseller, amount=4, idempotency_key="d")
    assert raised.value.code == "insufficient_credits"
    reseller.refresh_from_db()
    assert reseller.credit_balance == 3
    assert CreditLedgerEntry.objects.filter(reseller=reseller).count() == 1


def test_refund_and_adjust_chain_balance_after(reseller: Reseller) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="R", idempotency_key="g")
    deduction = credits_deduct(actor=SYSTEM, reseller=reseller, amount=4, idempotency_key="d")
    credits_refund(actor=SYSTEM, reseller=reseller, amount=4, idempotency_key="r",
                   refunds=deduction, reason="cancelled")
    credits_adjust(actor=SYSTEM, reseller=reseller, delta=-3, reason="correction",
                   idempotency_key="a")
    entries = list(CreditLedgerEntry.objects.filter(reseller=reseller).order_by("id"))
    assert [e.balance_after for e in entries] == [10, 6, 10, 7]
    reseller.refresh_from_db()
    assert reseller.credit_balance == 7 == ledger_sum(reseller)


def test_refund_cannot_exceed_the_deduction(reseller: Reseller) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="R", idempotency_key="g")
    deduction = credits_deduct(actor=SYSTEM, reseller=reseller, amount=2, idempotency_key="d")
    with pytest.raises(ValidationError) as raised:
        credits_refund(actor=SYSTEM, reseller=reseller, amount=3, idempotency_key="r",
                       refunds=deduction)
    assert raised.value.code == "refund_exceeds_deduction"


def test_test_mode_credits_are_a_separate_balance(reseller: Reseller) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=7, reference="R", idempotency_key="g",
                  livemode=False)
    reseller.refresh_from_db()
    assert (reseller.credit_balance, reseller.test_credit_balance) == (0, 7)
    with pytest.raises(InsufficientCredits):
        credits_deduct(actor=SYSTEM, reseller=reseller, amount=1, idempotency_key="d")


@pytest.mark.parametrize(
    ("kwargs", "code", "param"),
    [
        ({"amount": 0}, "invalid_amount", "amount"),
        ({"amount": -5}, "invalid_amount", "amount"),
        ({"amount": 1.5}, "invalid_amount", "amount"),
        ({"amount": True}, "invalid_amount", "amount"),
        ({"reference": ""}, "reference_required", "reference"),
        ({"reference": "   "}, "reference_required", "reference"),
        ({"idempotency_key": ""}, "idempotency_key_required", "idempotency_key"),
        ({"price_amount": 100, "price_currency": "EURO"}, "invalid_currency", "price_currency"),
        ({"price_amount": 100, "price_currency": "XYZ"}, "invalid_currency", "price_currency"),
        ({"price_amount": -1, "price_currency": "EUR"}, "invalid_amount", "price_amount"),
    ],
)
def test_bad_grant_is_refused_with_a_code_and_nothing_written(
    reseller: Reseller, kwargs: dict, code: str, param: str
) -> None:
    values = {"amount": 10, "reference": "INV", "idempotency_key": "k", **kwargs}
    with pytest.raises(ValidationError) as raised:
        credits_grant(actor=SYSTEM, reseller=reseller, **values)
    assert (raised.value.code, raised.value.param) == (code, param)
    reseller.refresh_from_db()
    assert reseller.credit_balance == 0
    assert not CreditLedgerEntry.objects.filter(reseller=reseller).exists()


@pytest.mark.parametrize("delta", [0, 1.0, None])
def test_bad_adjustment_is_refused(reseller: Reseller, delta: object) -> None:
    with pytest.raises(ValidationError) as raised:
        credits_adjust(actor=SYSTEM, reseller=reseller, delta=delta, reason="x",  # type: ignore[arg-type]
                       idempotency_key="a")
    assert raised.value.code == "invalid_amount"


def test_adjustment_needs_a_reason(reseller: Reseller) -> None:
    with pytest.raises(ValidationError) as raised:
        credits_adjust(actor=SYSTEM, reseller=reseller, delta=5, reason=" ", idempotency_key="a")
    assert raised.value.code == "reason_required"


def test_adjustment_cannot_take_the_balance_below_zero(reseller: Reseller) -> None:
    with pytest.raises(InsufficientCredits):
        credits_adjust(actor=SYSTEM, reseller=reseller, delta=-1, reason="x", idempotency_key="a")


def test_only_the_provider_grants_or_adjusts(reseller: Reseller) -> None:
    owner = staff(reseller, "owner")
    with pytest.raises(PermissionDenied) as raised:
        credits_grant(actor=owner, reseller=reseller, amount=10, reference="R",
                      idempotency_key="k")
    assert raised.value.code == "provider_only"
    with pytest.raises(PermissionDenied):
        credits_adjust(actor=owner, reseller=reseller, delta=10, reason="x", idempotency_key="k")


def test_ledger_rows_cannot_be_updated_or_deleted_through_the_model(reseller: Reseller) -> None:
    entry = credits_grant(actor=SYSTEM, reseller=reseller, amount=5, reference="R",
                          idempotency_key="k")
    entry.delta = 500
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        CreditLedgerEntry.objects.filter(pk=entry.pk).update(delta=500)
    with pytest.raises(AppendOnlyError):
        CreditLedgerEntry.objects.filter(pk=entry.pk).delete()


def test_the_database_refuses_updates_and_deletes_of_ledger_rows(reseller: Reseller) -> None:
    entry = credits_grant(actor=SYSTEM, reseller=reseller, amount=5, reference="R",
                          idempotency_key="k")
    table = CreditLedgerEntry._meta.db_table
    for sql in (f"UPDATE {table} SET delta = 500 WHERE id = %s",  # noqa: S608
                f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert CreditLedgerEntry.objects.get(pk=entry.pk).delta == 5


def test_the_database_refuses_a_negative_cached_balance(reseller: Reseller) -> None:
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Reseller.objects.filter(pk=reseller.pk).update(credit_balance=-1)


def test_ledger_selector_filters_and_paginates(reseller: Reseller, active_account) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=3, reference="R2", idempotency_key="x",
                  now=NOW)
    page = credits_ledger(reseller, actor=SYSTEM, filters=LedgerFilter(kind="activation"))
    assert [e.kind for e in page.object_list] == ["activation"]
    page = credits_ledger(reseller, actor=SYSTEM,
                          filters=LedgerFilter(subscriber_id=active_account.subscriber_id))
    assert [e.account_id for e in page.object_list] == [active_account.pk]
    page = credits_ledger(reseller, actor=SYSTEM, page_size=2)
    assert page.paginator.count == 3 and len(page.object_list) == 2
    assert credits_balance(reseller, actor=SYSTEM) == 10 - 1 + 3
    with pytest.raises(ValidationError):
        credits_ledger(reseller, actor=SYSTEM, filters=LedgerFilter(kind="bogus"))


@pytest.fixture
def split_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Support may also renew, viewer may also create: the shipped matrix gives renew and
    create together to every role, so only roles that split them show which one a
    deduction asks for."""
    monkeypatch.setitem(MATRIX, Role.SUPPORT, MATRIX[Role.SUPPORT] | {Perm.ACCOUNT_RENEW})
    monkeypatch.setitem(MATRIX, Role.VIEWER, MATRIX[Role.VIEWER] | {Perm.ACCOUNT_CREATE})


def test_a_renewal_deduction_needs_the_renew_permission_not_the_create_one(
        reseller: Reseller, split_roles: None) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="R", idempotency_key="g")
    renewer = staff(reseller, "support")
    entry = credits_deduct(actor=renewer, reseller=reseller, amount=2, idempotency_key="d",
                           kind=EntryKind.RENEWAL)
    assert (entry.kind, entry.delta) == ("renewal", -2)
    with pytest.raises(PermissionDenied):
        credits_deduct(actor=renewer, reseller=reseller, amount=1, idempotency_key="a",
                       kind=EntryKind.ACTIVATION)
    with pytest.raises(PermissionDenied):
        credits_deduct(actor=renewer, reseller=reseller, amount=1, idempotency_key="p",
                       kind=EntryKind.PLAN_CHANGE)
    reseller.refresh_from_db()
    assert reseller.credit_balance == 8 == ledger_sum(reseller)


def test_an_activation_deduction_is_not_a_licence_to_renew(
        reseller: Reseller, split_roles: None) -> None:
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="R", idempotency_key="g")
    creator = staff(reseller, "viewer")
    credits_deduct(actor=creator, reseller=reseller, amount=1, idempotency_key="a",
                   kind=EntryKind.ACTIVATION)
    with pytest.raises(PermissionDenied):
        credits_deduct(actor=creator, reseller=reseller, amount=1, idempotency_key="d",
                       kind=EntryKind.RENEWAL)
    assert list(CreditLedgerEntry.objects.filter(reseller=reseller).values_list(
        "kind", flat=True).order_by("id")) == ["purchase", "activation"]


def test_a_role_that_may_renew_but_not_create_renews_an_account(
        reseller: Reseller, split_roles: None) -> None:
    plan = PlanFactory.create(reseller=reseller)
    credits_grant(actor=SYSTEM, reseller=reseller, amount=10, reference="R", idempotency_key="g")
    account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
        reseller=reseller), plan=plan, now=NOW)
    result = account_renew(actor=staff(reseller, "support"), account=account, now=NOW)
    assert not result.queued
    assert account.ledger_entries.filter(kind="renewal").count() == 1
    with pytest.raises(PermissionDenied):
        account_create(actor=staff(reseller, "support"), plan=plan, now=NOW,
                       subscriber=SubscriberFactory.create(reseller=reseller))


def test_an_unknown_kind_is_not_a_deduction(reseller: Reseller) -> None:
    with pytest.raises(ValidationError) as raised:
        credits_deduct(actor=SYSTEM, reseller=reseller, amount=1, idempotency_key="d",
                       kind=EntryKind.PURCHASE)
    assert (raised.value.code, raised.value.param) == ("invalid", "kind")
