from __future__ import annotations

import datetime as dt

from apps.subscriptions.selectors import renewal_queue
from apps.subscriptions.services import account_create, account_renew, account_suspend

from ..conftest import NOW, SYSTEM, grant
from ..factories import SubscriberFactory


def test_renewal_queue_lists_what_needs_attention_most_urgent_first(reseller, plan):
    def new_account(at: dt.datetime):
        account, _ = account_create(actor=SYSTEM, subscriber=SubscriberFactory.create(
            reseller=reseller), plan=plan, now=at)
        return account

    grant(reseller, 4)
    expiring = new_account(NOW - dt.timedelta(days=27))  # expires in ~3 days
    quiet = new_account(NOW)  # a month left: not in the queue
    suspended = new_account(NOW)
    account_suspend(actor=SYSTEM, account=suspended, now=NOW)
    waiting_renewal = new_account(NOW - dt.timedelta(days=29))
    account_renew(actor=SYSTEM, account=waiting_renewal, now=NOW)  # no credits left: waits
    pending = new_account(NOW)

    queue = list(renewal_queue(reseller, actor=SYSTEM, now=NOW, within_days=7))
    reasons = {a.pk: getattr(a, "queue_reason") for a in queue}  # noqa: B009
    assert quiet.pk not in reasons
    assert reasons == {
        pending.pk: "pending_credits",
        waiting_renewal.pk: "pending_credits",
        suspended.pk: "suspended",
        expiring.pk: "expiring",
    }
    assert getattr(queue[-1], "queue_reason") == "expiring"  # noqa: B009
