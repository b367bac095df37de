"""Sixty days of auto-renewal, one account per way of paying, against localstripe.

The five accounts live on one reseller; the sweep runs every six hours under
time-machine, and after each day's noon run every account's state is written down (status, expiry, its payments, the card, the
failed-payment case, the emails), and the whole sixty-day diary is compared with
what the rules say: renew three days before expiry, retry daily, disable a
declined card and tell the subscriber, remind after day 1, suspend after day 3,
terminate after day 7, charge once per period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
import time_machine

from apps.notifications.models import OutboxMessage
from apps.payments.charges import wallet_top_up
from apps.payments.models import Payment, PaymentMethod
from apps.subscriptions.models import DunningCase, ServiceAccount
from apps.subscriptions.sweep import sweep

from ..conftest import NOW, SYSTEM
from ..stripe_server import StripeServer
from .cards import (
    AUTH_CARD,
    DECLINED_CARD,
    OK_CARD,
    PRICE,
    assert_wallet_ledger_holds,
    charged_at_stripe,
    intents_at_stripe,
    priced_plan,
    renewing_account,
    save_card,
    seller,
    wallet_balance,
)

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
T0 = NOW  # the account is made at noon on day 0; it expires on day 31 (and 61)
E1 = dt.datetime(2026, 4, 10, 12, 0, tzinfo=dt.UTC)
E2 = dt.datetime(2026, 5, 10, 12, 0, tzinfo=dt.UTC)
E3 = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)
LEAD1 = 28  # day of the first collection: three days before E1
LEAD2 = 58


@dataclass(frozen=True)
class Day:
    status: str
    expires_at: dt.datetime
    payments: tuple[str, ...]  # (source:state) oldest first
    card: str  # the default card's status, "" without one
    dunning: str  # the period's case: "", open, resolved, closed (+ :reminded)
    receipts: int
    failed_emails: int


def diary_entry(account: ServiceAccount) -> Day:
    account.refresh_from_db()
    assert account.expires_at is not None
    card = PaymentMethod.objects.filter(subscriber_id=account.subscriber_id,
                                        is_default=True).first()
    case = DunningCase.objects.filter(account=account).order_by("-pk").first()
    dunning = "" if case is None else case.status + (":reminded" if case.reminded_at else "")
    outbox = OutboxMessage.objects.filter(account=account)
    return Day(
        status=account.status, expires_at=account.expires_at,
        payments=tuple(f"{p.source}:{p.state}" for p in
                       Payment.objects.filter(subscriber_id=account.subscriber_id)
                       .order_by("pk")),
        card=card.status if card else "", dunning=dunning,
        receipts=outbox.filter(event="payment_receipt").count(),
        failed_emails=outbox.filter(event="payment_failed").count())


def live_sixty_days(accounts: dict[str, ServiceAccount],
                    on: dict[dt.timedelta, Callable[[dt.datetime], object]]
                    ) -> dict[str, list[Day]]:
    """Sweep every six hours from day 0 to day 59; `on` runs things at given offsets from T0
    (before that time's sweep). Each diary has one entry per day, after its noon sweep."""
    diaries: dict[str, list[Day]] = {name: [] for name in accounts}
    slug = next(iter(accounts.values())).reseller.slug
    for step in range(60 * 4):
        at = T0 + dt.timedelta(hours=6 * step - 12)
        with time_machine.travel(at, tick=False):
            if at - T0 in on:
                on[at - T0](at)
            report = sweep(now=at, reseller_slug=slug)
            assert report.errors == 0, report.error_messages
            if at.hour == 12:
                for name, account in accounts.items():
                    diaries[name].append(diary_entry(account))
    return diaries


def expected(changes: dict[int, dict[str, object]], start: Day) -> list[Day]:
    """A sixty-day diary from the days on which something changes."""
    days, current = [], start
    for n in range(60):
        if n in changes:
            current = Day(**{**current.__dict__, **changes[n]})
        days.append(current)
    return days


def diary_errors(name: str, got: list[Day], want: list[Day]) -> list[str]:
    return [f"{name} day {n}:\n  got  {g}\n  want {w}"
            for n, (g, w) in enumerate(zip(got, want, strict=True)) if g != w][:4]


def top_up(account: ServiceAccount, amount: int, at: dt.datetime, key: str) -> None:
    wallet_top_up(actor=SYSTEM, subscriber=account.subscriber, amount=amount, currency="EUR",
                  source="cash", reference=f"R-{key}", idempotency_key=key, now=at)


@pytest.mark.slow
def test_sixty_days_of_auto_renewal_one_account_per_source(db: None,
                                                          stripe_base: StripeServer) -> None:
    reseller = seller()
    plan = priced_plan(reseller)
    with time_machine.travel(T0, tick=False):
        accounts = {name: renewing_account(reseller, plan, source=source, now=T0)
                    for name, source in [("wallet_enough", "wallet"), ("wallet_short", "wallet"),
                                         ("card_ok", "card"), ("card_declined", "card"),
                                         ("card_auth", "card")]}
        top_up(accounts["wallet_enough"], 3 * PRICE, T0, "enough")
        top_up(accounts["wallet_short"], 500, T0, "short")
        save_card(stripe_base, accounts["card_ok"].subscriber, OK_CARD, now=T0)
        save_card(stripe_base, accounts["card_declined"].subscriber, DECLINED_CARD, now=T0)
        save_card(stripe_base, accounts["card_auth"].subscriber, AUTH_CARD, now=T0)

    diaries = live_sixty_days(accounts, on={
        # Two days after its failure, before the suspension on day 3: 20.00 arrives.
        (LEAD1 + 2) * DAY - 6 * HOUR: lambda at: top_up(accounts["wallet_short"], 2000, at,
                                                        "short-2"),
        # After the reminder on day 1: a new card, charged at the next daily retry.
        (LEAD1 + 1) * DAY + 6 * HOUR: lambda at: save_card(
            stripe_base, accounts["card_declined"].subscriber, OK_CARD, now=at),
    })

    fresh = Day("active", E1, (), "", "", 0, 0)
    ok = "card:succeeded"
    topped = ("cash:succeeded", "cash:succeeded", "wallet:succeeded")
    want = {
        "wallet_enough": expected({
            LEAD1: {"expires_at": E2, "payments": ("cash:succeeded", "wallet:succeeded"),
                    "receipts": 1},
            LEAD2: {"expires_at": E3, "payments": ("cash:succeeded", "wallet:succeeded",
                                                   "wallet:succeeded"), "receipts": 2},
        }, replace(fresh, payments=("cash:succeeded",))),
        "wallet_short": expected({
            LEAD1: {"dunning": "open", "failed_emails": 1},
            LEAD1 + 1: {"dunning": "open:reminded", "failed_emails": 2},
            LEAD1 + 2: {"expires_at": E2, "payments": topped, "dunning": "resolved:reminded",
                        "receipts": 1},
            LEAD2: {"expires_at": E3, "payments": (*topped, "wallet:succeeded"),
                    "receipts": 2},
        }, replace(fresh, payments=("cash:succeeded",))),
        "card_ok": expected({
            LEAD1: {"expires_at": E2, "payments": (ok,), "receipts": 1},
            LEAD2: {"expires_at": E3, "payments": (ok, ok), "receipts": 2},
        }, replace(fresh, card="enabled")),
        "card_declined": expected({
            LEAD1: {"payments": ("card:failed",), "card": "disabled", "dunning": "open",
                    "failed_emails": 1},
            LEAD1 + 1: {"dunning": "open:reminded", "failed_emails": 2},
            LEAD1 + 2: {"expires_at": E2, "payments": ("card:failed", ok), "card": "enabled",
                        "dunning": "resolved:reminded", "receipts": 1},
            LEAD2: {"expires_at": E3, "payments": ("card:failed", ok, ok), "receipts": 2},
        }, replace(fresh, card="enabled")),
        "card_auth": expected({
            LEAD1: {"payments": ("card:requires_action",), "dunning": "open",
                    "failed_emails": 1},
            LEAD1 + 1: {"dunning": "open:reminded", "failed_emails": 2},
            LEAD1 + 3: {"status": "suspended"},
            LEAD1 + 7: {"status": "terminated", "dunning": "closed:reminded"},
        }, replace(fresh, card="enabled")),
    }
    errors = [line for name in accounts
              for line in diary_errors(name, diaries[name], want[name])]
    assert not errors, "\n".join(errors)

    # Stripe: exactly one charge per period paid by card, of the plan's price.
    def charged(name: str) -> list[tuple[int, str]]:
        return [(pi["amount"], pi["currency"])
                for pi in charged_at_stripe(stripe_base, accounts[name].subscriber)]

    assert charged("card_ok") == [(PRICE, "eur")] * 2
    assert charged("card_declined") == [(PRICE, "eur")] * 2
    assert [pi["status"] for pi in intents_at_stripe(
        stripe_base, accounts["card_declined"].subscriber)] == [
        "requires_payment_method", "succeeded", "succeeded"]
    # Asked once; the daily retries wait for the cardholder instead of asking again.
    assert charged("card_auth") == []
    assert len(intents_at_stripe(stripe_base, accounts["card_auth"].subscriber)) == 1
    card_ok = accounts["card_ok"]
    assert [p.idempotency_key for p in Payment.objects.filter(account=card_ok).order_by("pk")] \
        == [f"renewal:{card_ok.pk}:sweep:{E1.isoformat()}:1",
            f"renewal:{card_ok.pk}:sweep:{E2.isoformat()}:1"]
    declined = Payment.objects.get(account=accounts["card_declined"], state="failed")
    assert (declined.error_code, declined.decline_code) == ("card_declined", "generic_decline")
    old_card = PaymentMethod.objects.get(subscriber=accounts["card_declined"].subscriber,
                                         is_default=False)
    assert old_card.status == "disabled"
    action = Payment.objects.get(account=accounts["card_auth"])
    assert action.error_code == "authentication_required" and action.stripe_payment_intent

    # The wallets: what came in less one price per renewal, and the ledger holds.
    assert wallet_balance(accounts["wallet_enough"].subscriber_id) == 3 * PRICE - 2 * PRICE
    assert wallet_balance(accounts["wallet_short"].subscriber_id) == 500 + 2000 - 2 * PRICE
    for account in accounts.values():
        assert wallet_balance(account.subscriber_id) >= 0
        assert_wallet_ledger_holds(account.subscriber_id)
