"""The wallet ledger: balances per currency, append-only rows, idempotency, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.errors import (
    DomainError,
    IdempotencyKeyReused,
    NotFound,
    PermissionDenied,
    StateConflict,
    ValidationError,
)
from apps.core.models import AppendOnlyError
from apps.credits.services import credits_grant
from apps.payments.models import Payment, Wallet, WalletEntry
from apps.payments.selectors import wallet_balances, wallet_entries
from apps.payments.wallets import (
    InsufficientWalletBalance,
    wallet_adjust,
    wallet_credit,
    wallet_debit,
    wallet_reverse,
)
from apps.subscriptions.models import Subscriber

from ..conftest import NOW, SYSTEM, Role, staff
from ..factories import ResellerFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def top_up(subscriber: Subscriber, amount: int, key: str, *, currency: str = "EUR", **kwargs):
    return wallet_credit(actor=SYSTEM, subscriber=subscriber, currency=currency, amount=amount,
                         kind="top_up", idempotency_key=key, now=NOW, **kwargs)


def charge(subscriber: Subscriber, amount: int, key: str, *, currency: str = "EUR", **kwargs):
    return wallet_debit(actor=SYSTEM, subscriber=subscriber, currency=currency, amount=amount,
                        idempotency_key=key, now=NOW, **kwargs)


def assert_invariants(subscriber: Subscriber) -> None:
    """Per wallet: balance == sum of deltas, every balance_after chains, never below zero."""
    for wallet in Wallet.objects.filter(subscriber=subscriber):
        running = 0
        for entry in WalletEntry.objects.filter(wallet=wallet).order_by("id"):
            running += entry.delta
            assert entry.balance_after == running >= 0
            assert (entry.currency, entry.livemode, entry.subscriber_id) == (
                wallet.currency, wallet.livemode, subscriber.pk)
        assert wallet.balance == running >= 0


def test_movements_chain_their_balance_per_currency_and_audit_each_one(subscriber):
    first, created = top_up(subscriber, 5000, "t-1")
    assert created and first.balance_after == 5000 and first.kind == "top_up"
    top_up(subscriber, 700, "t-2", currency="USD")
    entry, created = charge(subscriber, 1999, "c-1", reference="renewal of ACC-1")
    assert created and (entry.delta, entry.balance_after) == (-1999, 3001)
    refund, _ = wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=999,
                              kind="refund", reverses=entry, reason="goodwill",
                              idempotency_key="r-1", now=NOW)
    adjusted = wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR", delta=-1,
                             reason="rounding", idempotency_key="a-1", now=NOW)
    assert (refund.balance_after, adjusted.balance_after) == (4000, 3999)

    balances = wallet_balances(subscriber.reseller, subscriber)
    assert [(w.currency, w.balance, w.livemode) for w in balances] == [
        ("EUR", 3999, True), ("USD", 700, True)]
    assert_invariants(subscriber)
    assert [e.idempotency_key for e in wallet_entries(subscriber.reseller, subscriber,
                                                      currency="EUR")] == [
        "a-1", "r-1", "c-1", "t-1"]
    assert wallet_entries(subscriber.reseller, subscriber).count() == 5

    audits = AuditEntry.objects.filter(reseller=subscriber.reseller,
                                       object_type="payments.walletentry").order_by("id")
    assert [a.action for a in audits] == ["wallet.top_up", "wallet.top_up",
                                          "wallet.renewal_charge", "wallet.refund",
                                          "wallet.adjustment"]
    assert audits[2].object_id == str(entry.pk)
    assert audits[2].before == {"balance": 5000, "livemode": True}
    assert audits[2].after == {"balance": 3001, "delta": -1999,
                               "reference": "renewal of ACC-1", "reason": ""}


def test_the_wallet_takes_the_subscribers_mode(reseller):
    test_subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    entry, _ = top_up(test_subscriber, 100, "t-1")
    assert entry.livemode is False and entry.wallet.livemode is False


def test_a_zero_wallet_stays_listed_and_other_tenants_see_nothing(subscriber):
    top_up(subscriber, 100, "t-1")
    charge(subscriber, 100, "c-1")
    assert [(w.currency, w.balance) for w in wallet_balances(subscriber.reseller, subscriber)] == [
        ("EUR", 0)]
    other = ResellerFactory.create()
    assert wallet_balances(other, subscriber) == []
    assert not wallet_entries(other, subscriber).exists()


def test_a_short_debit_is_refused_and_writes_nothing(subscriber):
    top_up(subscriber, 500, "t-1")
    with pytest.raises(InsufficientWalletBalance) as refused:
        charge(subscriber, 501, "c-1")
    assert refused.value.code == "insufficient_wallet_balance"
    assert refused.value.kind == "conflict" and refused.value.param == "amount"
    assert str(refused.value.message) == "5.01 EUR needed, 5.00 EUR available."
    assert WalletEntry.objects.count() == 1
    assert Wallet.objects.get().balance == 500
    # The same key is free for a debit that fits.
    assert charge(subscriber, 500, "c-1")[0].balance_after == 0


def test_a_debit_from_a_wallet_never_topped_up_makes_no_wallet(subscriber):
    with pytest.raises(InsufficientWalletBalance):
        charge(subscriber, 1, "c-1", currency="JPY")
    with pytest.raises(InsufficientWalletBalance):
        wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="JPY", delta=-1,
                      reason="x", idempotency_key="a-1")
    assert not Wallet.objects.exists() and not WalletEntry.objects.exists()


def test_a_repeated_key_returns_the_first_row_and_other_parameters_are_refused(subscriber):
    first, created = top_up(subscriber, 500, "k")
    again, created_again = top_up(subscriber, 500, "k", reference="ignored")
    assert created and not created_again and again.pk == first.pk
    for call in (lambda: top_up(subscriber, 501, "k"),
                 lambda: top_up(subscriber, 500, "k", currency="USD"),
                 lambda: charge(subscriber, 500, "k"),
                 lambda: top_up(SubscriberFactory.create(reseller=subscriber.reseller), 500, "k")):
        with pytest.raises(IdempotencyKeyReused) as refused:
            call()
        assert refused.value.code == "idempotency_key_reused"
        assert refused.value.param == "idempotency_key"
    assert WalletEntry.objects.count() == 1
    assert Wallet.objects.get(subscriber=subscriber, currency="EUR").balance == 500


def test_a_key_used_by_a_credit_movement_is_free_for_the_wallet(subscriber):
    credits_grant(actor=SYSTEM, reseller=subscriber.reseller, amount=5, reference="INV",
                  idempotency_key="shared")
    assert top_up(subscriber, 5, "shared")[1]


def test_keys_are_unique_per_reseller_not_across_them(subscriber):
    other = SubscriberFactory.create(reseller=ResellerFactory.create())
    assert top_up(subscriber, 5, "k")[1] and top_up(other, 7, "k")[1]


def test_a_debit_replayed_after_the_balance_ran_out_returns_the_first_charge(subscriber):
    top_up(subscriber, 500, "t-1")
    first, _ = charge(subscriber, 500, "c-1")
    again, created = charge(subscriber, 500, "c-1")
    assert again.pk == first.pk and not created


@pytest.mark.parametrize(("amount", "message"), [
    (0, "An amount must be a positive whole number of minor units."),
    (-5, "An amount must be a positive whole number of minor units."),
    (1.5, "An amount is a whole number of minor units (cents)."),
    (100.0, "An amount is a whole number of minor units (cents)."),
    ("10", "An amount is a whole number of minor units (cents)."),
    (True, "An amount is a whole number of minor units (cents)."),
    (None, "An amount is a whole number of minor units (cents)."),
    (10**12 + 1, "At most 1000000000000 minor units in one movement."),
])
def test_bad_amounts_are_refused_with_a_code_and_write_nothing(subscriber, amount, message):
    for call in (lambda: top_up(subscriber, amount, "k"), lambda: charge(subscriber, amount, "k")):
        with pytest.raises(ValidationError) as refused:
            call()
        assert (refused.value.code, refused.value.param, refused.value.message) == (
            "invalid_amount", "amount", message)
    assert not Wallet.objects.exists() and not WalletEntry.objects.exists()


def test_the_largest_amount_is_accepted(subscriber):
    assert top_up(subscriber, 10**12, "k")[0].balance_after == 10**12


@pytest.mark.parametrize("currency", ["XXX", "eur", "", None, 978])
def test_an_unknown_currency_is_refused(subscriber, currency):
    with pytest.raises(ValidationError) as refused:
        top_up(subscriber, 100, "k", currency=currency)
    assert (refused.value.code, refused.value.param) == ("invalid_currency", "currency")
    assert not Wallet.objects.exists()


@pytest.mark.parametrize(("kwargs", "code", "param"), [
    ({"kind": "renewal_charge"}, "invalid", "kind"),
    ({"kind": "adjustment"}, "invalid", "kind"),
    ({"idempotency_key": ""}, "idempotency_key_required", "idempotency_key"),
    ({"idempotency_key": "  "}, "idempotency_key_required", "idempotency_key"),
    ({"idempotency_key": "k" * 201}, "invalid", "idempotency_key"),
])
def test_bad_credit_parameters_are_refused(subscriber, kwargs, code, param):
    arguments = {"actor": SYSTEM, "subscriber": subscriber, "currency": "EUR", "amount": 100,
                 "kind": "top_up", "idempotency_key": "k", **kwargs}
    with pytest.raises(DomainError) as refused:
        wallet_credit(**arguments)
    assert (refused.value.code, refused.value.param) == (code, param)
    assert not WalletEntry.objects.exists()


def test_another_tenants_subscriber_is_not_found_for_staff_and_keys(subscriber):
    other = ResellerFactory.create()
    billing_elsewhere = staff(other, Role.BILLING)
    key_elsewhere = Actor.for_api_key(key_id=1, prefix="bp_live_x", reseller_id=other.pk)
    for actor in (billing_elsewhere, key_elsewhere):
        for call in (
            lambda a=actor: wallet_credit(actor=a, subscriber=subscriber, currency="EUR",
                                          amount=1, kind="top_up", idempotency_key="k"),
            lambda a=actor: wallet_debit(actor=a, subscriber=subscriber, currency="EUR",
                                         amount=1, idempotency_key="k"),
            lambda a=actor: wallet_adjust(actor=a, subscriber=subscriber, currency="EUR",
                                          delta=1, reason="x", idempotency_key="k"),
        ):
            with pytest.raises(NotFound) as refused:
                call()
            assert (refused.value.code, refused.value.param) == (
                "subscriber_not_found", "subscriber")
    entry, _ = top_up(subscriber, 10, "t-1")
    with pytest.raises(NotFound) as refused:
        wallet_reverse(actor=billing_elsewhere, entry=entry, reason="x", idempotency_key="v")
    assert refused.value.param == "entry"
    assert WalletEntry.objects.count() == 1


def test_each_movement_asks_its_own_permission(subscriber):
    reseller = subscriber.reseller
    support, viewer, billing = (staff(reseller, Role.SUPPORT), staff(reseller, Role.VIEWER),
                                staff(reseller, Role.BILLING))
    for actor in (support, viewer):
        with pytest.raises(PermissionDenied):
            wallet_credit(actor=actor, subscriber=subscriber, currency="EUR", amount=1,
                          kind="top_up", idempotency_key="k")
        with pytest.raises(PermissionDenied):
            wallet_adjust(actor=actor, subscriber=subscriber, currency="EUR", delta=1,
                          reason="x", idempotency_key="k")
    with pytest.raises(PermissionDenied):
        wallet_debit(actor=viewer, subscriber=subscriber, currency="EUR", amount=1,
                     idempotency_key="k")
    assert not WalletEntry.objects.exists()
    entry, _ = wallet_credit(actor=billing, subscriber=subscriber, currency="EUR", amount=5,
                             kind="top_up", idempotency_key="t")
    assert entry.actor_label == billing.label and entry.actor_user == billing.user
    wallet_debit(actor=billing, subscriber=subscriber, currency="EUR", amount=1,
                 idempotency_key="c")
    wallet_adjust(actor=billing, subscriber=subscriber, currency="EUR", delta=1, reason="x",
                  idempotency_key="a")
    assert WalletEntry.objects.count() == 3


def _payment(subscriber: Subscriber, *, currency: str = "EUR") -> Payment:
    return Payment.objects.create(
        reseller=subscriber.reseller, subscriber=subscriber, livemode=subscriber.livemode,
        source="cash", purpose="top_up", state="succeeded", amount=500, currency=currency,
        purpose_key=f"top-up:{subscriber.pk}:{currency}",
        idempotency_key=f"top-up:{subscriber.pk}:{currency}:1",
        created_at=NOW, updated_at=NOW)


def test_a_payment_or_account_of_another_subscriber_is_not_found(subscriber, active_account):
    neighbour = SubscriberFactory.create(reseller=subscriber.reseller)
    stranger = SubscriberFactory.create(reseller=ResellerFactory.create())
    for payment in (_payment(neighbour), _payment(stranger)):
        with pytest.raises(NotFound) as refused:
            top_up(subscriber, 500, "k", payment=payment)
        assert refused.value.param == "payment"
    with pytest.raises(NotFound) as refused:
        charge(neighbour, 1, "k", account=active_account)
    assert refused.value.param == "account"
    with pytest.raises(ValidationError) as mismatch:
        top_up(subscriber, 500, "k", payment=_payment(subscriber, currency="USD"))
    assert (mismatch.value.code, mismatch.value.param) == ("currency_mismatch", "currency")
    assert not WalletEntry.objects.exists()
    paid = _payment(subscriber)
    entry, _ = top_up(subscriber, 500, "k", payment=paid)
    assert entry.payment == paid and list(paid.wallet_entries.all()) == [entry]
    assert charge(subscriber, 1, "c", account=active_account)[0].account == active_account


def test_a_refund_gives_back_at_most_what_its_charge_took(subscriber):
    top_up(subscriber, 1000, "t-1")
    charged, _ = charge(subscriber, 400, "c-1")
    topped = WalletEntry.objects.get(idempotency_key="t-1")

    def refund(amount: int, reverses: WalletEntry, key: str = "r-1"):
        return wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=amount,
                             kind="refund", reverses=reverses, idempotency_key=key)

    for amount, reverses in ((401, charged), (1, topped)):
        with pytest.raises(ValidationError) as refused:
            refund(amount, reverses)
        assert refused.value.code == "refund_exceeds_charge"
    with pytest.raises(NotFound):
        wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="USD", amount=1,
                      kind="refund", reverses=charged, idempotency_key="r-1")
    with pytest.raises(ValidationError) as refused:
        wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=1,
                      kind="top_up", reverses=charged, idempotency_key="r-1")
    assert refused.value.param == "reverses"
    assert refund(400, charged)[0].reverses == charged


def test_adjustments_are_signed_need_a_reason_and_stop_at_zero(subscriber):
    top_up(subscriber, 100, "t-1")
    bad: list[tuple[object, object, str, str]] = [
        (0, "x", "invalid_amount", "delta"),
        (1.5, "x", "invalid_amount", "delta"),
        (-(10**12) - 1, "x", "invalid_amount", "delta"),
        (5, "  ", "reason_required", "reason"),
        (5, None, "reason_required", "reason"),
    ]
    for delta, reason, code, param in bad:
        with pytest.raises(ValidationError) as refused:
            wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR",
                          delta=delta, reason=reason, idempotency_key="a")  # type: ignore[arg-type]
        assert (refused.value.code, refused.value.param) == (code, param)
    with pytest.raises(InsufficientWalletBalance):
        wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR", delta=-101,
                      reason="x", idempotency_key="a")
    entry = wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR", delta=-100,
                          reason=" correction ", idempotency_key="a")
    assert (entry.balance_after, entry.reason) == (0, "correction")
    assert wallet_adjust(actor=SYSTEM, subscriber=subscriber, currency="EUR", delta=-100,
                         reason="correction", idempotency_key="a").pk == entry.pk


def test_a_movement_is_reversed_once(subscriber):
    topped, _ = top_up(subscriber, 1000, "t-1", reference="cash")
    charged, _ = charge(subscriber, 300, "c-1")
    reversal = wallet_reverse(actor=SYSTEM, entry=charged, reason="charged twice",
                              idempotency_key="v-1", now=NOW)
    assert (reversal.kind, reversal.delta, reversal.balance_after, reversal.reverses) == (
        "reversal", 300, 1000, charged)
    assert wallet_reverse(actor=SYSTEM, entry=charged, reason="charged twice",
                          idempotency_key="v-1").pk == reversal.pk
    with pytest.raises(StateConflict) as refused:
        wallet_reverse(actor=SYSTEM, entry=charged, reason="again", idempotency_key="v-2")
    assert (refused.value.code, refused.value.param) == ("already_reversed", "entry")
    with pytest.raises(ValidationError):
        wallet_reverse(actor=SYSTEM, entry=reversal, reason="undo", idempotency_key="v-3")
    with pytest.raises(IdempotencyKeyReused):
        wallet_reverse(actor=SYSTEM, entry=topped, reason="x", idempotency_key="v-1")
    # A top-up spent in part cannot be reversed whole: the balance would go below zero.
    charge(subscriber, 900, "c-2")
    with pytest.raises(InsufficientWalletBalance):
        wallet_reverse(actor=SYSTEM, entry=topped, reason="bounced", idempotency_key="v-4")
    assert_invariants(subscriber)


def test_inside_a_callers_transaction_a_lost_key_leaves_it_usable(subscriber):
    top_up(subscriber, 100, "t-1")
    with transaction.atomic():
        with pytest.raises(IdempotencyKeyReused):
            top_up(subscriber, 999, "t-1")
        with pytest.raises(InsufficientWalletBalance):
            charge(subscriber, 101, "c-1")
        entry, created = charge(subscriber, 60, "c-1")
        assert created and entry.balance_after == 40
        top_up(subscriber, 5, "t-2", currency="GBP")  # a new wallet, inside the transaction
    assert_invariants(subscriber)


def test_a_callers_rollback_takes_the_movement_and_its_audit_row(subscriber):
    top_up(subscriber, 100, "t-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        charge(subscriber, 60, "c-1")
        raise RuntimeError("the renewal failed")
    assert Wallet.objects.get().balance == 100
    assert not WalletEntry.objects.filter(idempotency_key="c-1").exists()
    assert AuditEntry.objects.filter(action="wallet.renewal_charge").count() == 0


def test_the_database_refuses_a_negative_balance(subscriber):
    top_up(subscriber, 100, "t-1")
    wallet = Wallet.objects.get()
    with pytest.raises(IntegrityError, match="wallet_balance_gte_0"), transaction.atomic():
        Wallet.objects.filter(pk=wallet.pk).update(balance=-1)
    entry = WalletEntry.objects.get()
    with pytest.raises(IntegrityError, match="wallet_entry_balance_gte_0"), transaction.atomic():
        WalletEntry.objects.create(
            reseller=subscriber.reseller, wallet=wallet, subscriber=subscriber, livemode=True,
            currency="EUR", kind="renewal_charge", delta=-200, balance_after=-100,
            idempotency_key="raw", actor_type="system", actor_label="raw",
            created_at=NOW)
    with pytest.raises(IntegrityError, match="wallet_entry_delta_sign_matches_kind"), \
            transaction.atomic():
        WalletEntry.objects.create(
            reseller=subscriber.reseller, wallet=wallet, subscriber=subscriber, livemode=True,
            currency="EUR", kind="top_up", delta=-1, balance_after=99, idempotency_key="raw",
            actor_type="system", actor_label="raw", created_at=NOW)
    assert WalletEntry.objects.get() == entry


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_update_or_delete_a_wallet_entry(subscriber):
    entry, _ = top_up(subscriber, 100, "t-1")
    for sql in ('UPDATE "payments_walletentry" SET "delta" = 1000 WHERE "id" = %s',
                'DELETE FROM "payments_walletentry" WHERE "id" = %s'):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        WalletEntry.objects.filter(pk=entry.pk).delete()
    assert WalletEntry.objects.get().delta == 100


def test_the_time_given_is_the_rows_time(subscriber):
    later = NOW + dt.timedelta(days=3)
    entry, _ = wallet_credit(actor=SYSTEM, subscriber=subscriber, currency="EUR", amount=1,
                             kind="top_up", idempotency_key="k", now=later)
    assert entry.created_at == later == entry.wallet.created_at
    assert AuditEntry.objects.get(action="wallet.top_up").created_at == later
