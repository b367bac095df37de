"""A wallet top-up, a sweep and a refund at once on one subscriber, in threads on
PostgreSQL: the wallet ledger holds (balance == sum of its rows, every balance_after
chains, never negative) and no account is renewed twice."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import connections

from apps.credits.models import CreditLedgerEntry, EntryKind
from apps.payments.charges import payment_record_manual, payment_refund, wallet_top_up
from apps.payments.models import Payment
from apps.subscriptions.services import account_create, account_set_renewal_source
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM
from ..factories import SubscriberFactory
from .cards import PRICE, assert_wallet_ledger_holds, priced_plan, seller, wallet_balance

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
