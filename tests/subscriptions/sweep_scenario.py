"""A reseller whose accounts have one of each effect due at NOW, and a fingerprint of the result."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apps.accounts.models import Reseller
from apps.core.dates import add_months
from apps.credits.models import CreditLedgerEntry
from apps.notifications.models import OutboxMessage
from apps.payments.services import account_set_renewal_source
from apps.subscriptions.models import (
    AccountEvent,
    ReminderLog,
    ServiceAccount,
    SubscriptionSettings,
)
from apps.subscriptions.services import (
    account_create,
    account_expire,
    account_suspend,
    subscription_settings_update,
)

from ..conftest import NOW, SYSTEM, grant
from ..factories import PlanFactory, ResellerFactory, SubscriberFactory

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def build(copies: int = 1, *, reseller: Reseller | None = None) -> Reseller:
    """Accounts due for each step at NOW; `copies` of each kind."""
    reseller = reseller or ResellerFactory.create()
    plan = PlanFactory.create(reseller=reseller, name="Monthly", duration_months=1)
    grant(reseller, 100 * copies, now=NOW - 90 * DAY)
    subscription_settings_update(actor=SYSTEM, reseller=reseller, credit_floor=100 * copies)

    def account(name: str, created: dt.datetime) -> ServiceAccount:
        subscriber = SubscriberFactory.create(reseller=reseller, name=name,
                                              email=f"{name}@example.net")
        made, _ = account_create(actor=SYSTEM, subscriber=subscriber, plan=plan, now=created)
        return made

    for i in range(copies):
        account(f"expiring{i}", add_months(NOW - HOUR, -1))
        in_grace = account(f"grace{i}", add_months(NOW - 3 * DAY, -1))
        account_expire(actor=SYSTEM, account=in_grace, now=in_grace.expires_at)
        long_suspended = account(f"suspended{i}", NOW - 80 * DAY)
        account_suspend(actor=SYSTEM, account=long_suspended, now=NOW - 35 * DAY)
        account(f"reminded{i}", add_months(NOW + 3 * DAY + HOUR, -1))
        renewing = account(f"renewing{i}", add_months(NOW + 2 * DAY, -1))
        account_set_renewal_source(actor=SYSTEM, account=renewing, source="complimentary")
        account(f"quiet{i}", NOW - 2 * DAY)
    return reseller


def fingerprint(reseller: Reseller) -> dict[str, Any]:
    accounts = {}
    for account in ServiceAccount.objects.filter(reseller=reseller).select_related("subscriber"):
        accounts[account.subscriber.name] = (
            account.status,
            account.expires_at,
            sorted(AccountEvent.objects.filter(account=account).values_list("action", flat=True)),
            sorted(ReminderLog.objects.filter(account=account).values_list("offset_days",
                                                                             flat=True)),
            sorted(OutboxMessage.objects.filter(account=account).values_list("event",
                                                                               flat=True)),
        )
    reseller.refresh_from_db()
    settings = SubscriptionSettings.objects.get(reseller=reseller)
    return {
        "accounts": accounts,
        "balance": reseller.credit_balance,
        "ledger": CreditLedgerEntry.objects.filter(reseller=reseller).count(),
        "floor": (settings.credit_floor_alerted, settings.credit_floor_crossings),
        "floor_emails": OutboxMessage.objects.filter(reseller=reseller,
                                                     event="credit_floor").count(),
    }
