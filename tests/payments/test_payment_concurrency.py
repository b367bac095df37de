"""A wallet top-up, a sweep and a refund at once on one subscriber, in threads on
PostgreSQL: the wallet ledger holds (balance == sum of its rows, every balance_after
chains, never negative) and no account is renewed twice. And no financial operation
starts on an account while a payment for it is in flight."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
import time_machine
from django.db import connections

from apps.core.errors import StateConflict
from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.payments.charges import (
    payment_record_manual,
    payment_refund,
    payments_janitor,
    wallet_top_up,
)
from apps.payments.models import Payment
from apps.subscriptions.services import (
    account_change_plan,
    account_create,
    account_renew,
    account_set_renewal_source,
)
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM
from ..factories import SubscriberFactory
from .cards import (
    OK_CARD,
    PRICE,
    assert_wallet_ledger_holds,
    priced_plan,
    renewing_account,
    save_card,
    seller,
    wallet_balance,
)

ROUNDS = 4


def at_once(*calls: Callable[[], object]) -> list[BaseException]:
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_a_top_up_a_sweep_and_a_refund_at_once_renew_each_account_once(round_: int) -> None:
    reseller = seller()
    plan = priced_plan(reseller)
    subscriber = SubscriberFactory.create(reseller=reseller, livemode=False)
    due = []
    for _ in range(2):
        account, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=NOW)
        account_set_renewal_source(actor=SYSTEM, account=account, source="wallet", now=NOW)
        due.append(account)
    paid_by_hand, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan,
                                     auto_renew=False, now=NOW)
    earlier = payment_record_manual(actor=SYSTEM, subscriber=subscriber, amount=PRICE,
                                    currency="EUR", source="cash", reference="R-1",
                                    idempotency_key="cash-1", account=paid_by_hand, months=1,
                                    now=NOW).payment
    wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=PRICE, currency="EUR",
                  source="cash", reference="R-0", idempotency_key="first", now=NOW)
    assert due[0].expires_at is not None
    at = due[0].expires_at - dt.timedelta(days=3)
    renewals_before = CreditLedgerEntry.objects.filter(kind=EntryKind.RENEWAL,
                                                       account__in=due).count()
    assert renewals_before == 0

    errors = at_once(
        lambda: wallet_top_up(actor=SYSTEM, subscriber=subscriber, amount=2000,
                              currency="EUR", source="bank_transfer", reference="T-2",
                              idempotency_key="second", now=at),
        lambda: sweep(now=at, reseller_slug=reseller.slug),
        lambda: payment_refund(actor=SYSTEM, payment=earlier, amount=400,
                               idempotency_key="give-back", reason="goodwill", now=at),
    )
    assert not errors, errors
    # Whatever the order, the next sweep finishes what the first could not pay, once.
    sweep(now=at + dt.timedelta(days=1), reseller_slug=reseller.slug)
    sweep(now=at + dt.timedelta(days=1), reseller_slug=reseller.slug)

    for account in due:
        assert CreditLedgerEntry.objects.filter(account=account,
                                                kind=EntryKind.RENEWAL).count() == 1
        paid = Payment.objects.filter(account=account, source="wallet",
                                      state="succeeded").count()
        assert paid == 1
        account.refresh_from_db()
        assert account.expires_at is not None and account.expires_at > at + dt.timedelta(days=3)
    assert_wallet_ledger_holds(subscriber.pk)
    assert wallet_balance(subscriber.pk) == PRICE + 2000 + 400 - 2 * PRICE
    earlier.refresh_from_db()
    assert (earlier.state, earlier.refunded_amount) == ("partially_refunded", 400)


def test_no_financial_operation_starts_while_a_payment_is_in_flight(
        db: None, stripe_base, settings) -> None:
    """account_renew, account_change_plan and payment_refund answer `payment_in_progress`
    while a card payment for the account is unknown; once it is resolved they work."""
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    reseller = seller()
    plan = priced_plan(reseller)
    other_plan = priced_plan(reseller, amount=1999)
    account = renewing_account(reseller, plan, source="card", now=NOW)
    save_card(stripe_base, account.subscriber, OK_CARD, now=NOW)
    cash = payment_record_manual(actor=SYSTEM, subscriber=account.subscriber, amount=PRICE,
                                 currency="EUR", source="cash", reference="R-1",
                                 idempotency_key="cash-1", account=account, months=1,
                                 now=NOW).payment
    account.refresh_from_db()
    assert account.expires_at is not None
    at = account.expires_at - dt.timedelta(days=3)
    stripe_base.hang_next(1, seconds=1, path=r"/v1/payment_intents", carried_out=True)
    with time_machine.travel(at, tick=False):
        assert sweep(now=at, reseller_slug=reseller.slug).payment_pending == 1
    assert Payment.objects.get(account=account, source="card").state == "unknown"
    expires = account.expires_at

    refused = []
    for attempt in (
        lambda: account_renew(actor=SYSTEM, account=account, now=at),
        lambda: account_change_plan(actor=SYSTEM, account=account, plan=other_plan, now=at),
        lambda: payment_refund(actor=SYSTEM, payment=cash, amount=100,
                               idempotency_key="r-1", now=at),
    ):
        with pytest.raises(StateConflict) as error:
            attempt()
        refused.append((error.value.code, error.value.param))
    assert refused == [("payment_in_progress", "account"), ("payment_in_progress", "account"),
                       ("payment_in_progress", "payment")]
    account.refresh_from_db()
    assert (account.expires_at, account.plan_id) == (expires, plan.pk)
    cash.refresh_from_db()
    assert (cash.refunded_amount, cash.refunds.count()) == (0, 0)

    time.sleep(1)
    with time_machine.travel(at + dt.timedelta(minutes=1), tick=False):
        assert payments_janitor(now=at + dt.timedelta(minutes=1)).applied == 1
        refund = payment_refund(actor=SYSTEM, payment=cash, amount=100,
                                idempotency_key="r-1", now=at + dt.timedelta(minutes=1))
    assert refund.state == "succeeded"
