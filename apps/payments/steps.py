"""The sweep's payment steps: auto-renewal (collect, then renew) and the failed-payment rules.

Listed in settings.SWEEP_STEPS, they run inside the renewal sweep
(apps.subscriptions.sweep) through its public interface.

An auto-renewal is two moves. First the collection, with no transaction open
and no row locked (unless the sweep itself was called inside a transaction, as
most tests do): a card collector talks to Stripe, and the reseller row it
would otherwise hold is the one every credit movement needs. It is keyed by the
account and period (`renewal:<account>:sweep:<period>`), so a retry finds the
first charge. Then a short transaction locks the reseller and the account,
looks again, and renews under the same key (or, if the collection failed,
records the failure). If the money was taken but the account moved on while it
was being taken:

- renewed meanwhile by another door (the API, the dashboard): it still renews,
  on top, since the subscriber paid for a period and the state machine allows
  it; a retry of the same collection renews nothing twice (the ledger key);
- no longer renewable (terminated, in processing): the money is counted in the
  report's errors with the collection's reference, and an audit row
  (`payment.unapplied`) keeps it for staff to refund.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.db.models import Exists, OuterRef, Q

from apps.accounts.models import Reseller
from apps.core.errors import DomainError
from apps.subscriptions.models import (
    AccountStatus,
    DunningCase,
    DunningStatus,
    OperationStatus,
    PendingOperation,
    ServiceAccount,
    SubscriptionSettings,
)
from apps.subscriptions.services import account_suspend, account_terminate
from apps.subscriptions.sweep import ACTOR, DAY, SweepRun, id_batches, transition

from .collectors import Collection, collector_for, sources_renewing_here
from .services import (
    collection_key,
    collection_unapplied,
    dunning_attempt_failed,
    dunning_close,
    dunning_remind,
    dunning_resolve,
    renewal_collected,
)

logger = logging.getLogger(__name__)

DUE = Q(status__in=[AccountStatus.ACTIVE, AccountStatus.GRACE], auto_renew=True)
# Accounts per batch of collections (each collection may wait on Stripe).
COLLECTION_BATCH = 50


# ---------------------------------------------------------------- auto-renewal


def step_auto_renew(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    sources = sources_renewing_here()
    if not sources:
        return
    waiting = PendingOperation.objects.filter(account=OuterRef("pk"),
                                              status=OperationStatus.WAITING)
    tried_today = DunningCase.objects.filter(
        account=OuterRef("pk"), period_expires_at=OuterRef("expires_at"),
        last_attempt_at__gt=run.now - DAY,
    )
    candidates = (
        ServiceAccount.objects.filter(reseller=reseller, auto_renew=True)
        # Spelled as the partial index's condition, so that PostgreSQL uses it.
        .exclude(renewal_source="external")
        .filter(status__in=[AccountStatus.ACTIVE, AccountStatus.GRACE],
                renewal_source__in=sources,
                expires_at__lte=run.now + dt.timedelta(days=config.renewal_lead_days))
        .exclude(Exists(waiting))
        .exclude(Exists(tried_today))
    )
    if run.dry_run:
        run.count("renewed", candidates.count())
        return
    # Batches of their own size on SWEEP_WORKERS connections: a card collection waits on
    # Stripe, and another batch's collections and renewals go on meanwhile.
    run.each(id_batches(candidates, min(run.batch_size, COLLECTION_BATCH)),
             partial(_collect_batch, run, reseller))


def _collect_batch(run: SweepRun, reseller: Reseller, ids: list[int]) -> None:
    for account_id in ids:
        run.attempt(account_id, partial(_collect_and_renew, run, reseller, account_id))


def _collect_and_renew(run: SweepRun, reseller: Reseller, account_id: int) -> str | None:
    # Read, not locked: the collection below must not run under a lock.
    account = (ServiceAccount.objects.filter(DUE, pk=account_id)
               .select_related("plan", "next_plan", "subscriber").first())
    if account is None or account.expires_at is None:
        return "skipped"
    collector = collector_for(account.renewal_source)
    if collector is None or not collector.renews_here:
        return None
    period = account.expires_at
    collection = collector.collect(account, months=account.renewal_period_months,
                                   idempotency_key=collection_key(account, period))
    if collection.pending:
        # Neither paid nor failed yet: the janitor (or the next run) settles it.
        run.count("payment_pending")
        return None
    if not collection.ok:
        run.item(reseller.pk, account_id, partial(_failed, run, period, collection),
                 expect=DUE)
        return None
    # Any status: money taken is applied if the state machine lets it, reported if not.
    # And waited for, not skipped: the next run would find the period already charged.
    run.item(reseller.pk, account_id, partial(_renew, run, period, collection), expect=Q(),
             skip_locked=False)
    return None


def _failed(run: SweepRun, period: dt.datetime, collection: Collection,
            account: ServiceAccount) -> str | None:
    if account.expires_at != period:
        return "skipped"  # renewed another way while the collection was failing
    dunning_attempt_failed(actor=ACTOR, account=account, period=period, error=collection.error,
                           action_url=collection.action_url, now=run.now)
    return "payment_failed"


def _renew(run: SweepRun, period: dt.datetime, collection: Collection,
           account: ServiceAccount) -> str | None:
    if account.expires_at != period:
        logger.info("sweep: account %s moved on during its collection %s; renewing on top",
                    account.pk, collection.reference)
    try:
        result = renewal_collected(actor=ACTOR, account=account, period=period,
                                   collection=collection, now=run.now)
    except DomainError as error:
        if collection.amount <= 0:
            raise  # nothing was taken: skipped, as any account not in a state to renew
        run.error(collection_unapplied(actor=ACTOR, account=account, period=period,
                                       collection=collection, why=error.message, now=run.now))
        logger.error("sweep: account %s: collection %s not applied: %s", account.pk,
                     collection.reference, error)
        return "errors"
    return "renewal_queued" if result.queued else "renewed"


# ---------------------------------------------------------------- dunning


def step_dunning(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    cases = list(
        DunningCase.objects.filter(reseller=reseller, status=DunningStatus.OPEN)
        .select_related("account").order_by("opened_at", "pk")
    )
    for case in cases:
        account = case.account
        if run.dry_run:
            continue
        if account.expires_at is not None and account.expires_at > case.period_expires_at:
            # Renewed some other way (the API, the dashboard): nothing left to chase.
            dunning_resolve(actor=ACTOR, account=account, now=run.now,
                            before=account.expires_at)
            continue
        age = run.now - case.opened_at
        if age >= dt.timedelta(days=config.dunning_terminate_days):
            run.item(reseller.pk, account.pk, partial(_terminate, run, case),
                     expect=~Q(status=AccountStatus.TERMINATED))
            continue
        if age >= dt.timedelta(days=config.dunning_suspend_days) and account.status in (
            AccountStatus.ACTIVE, AccountStatus.GRACE
        ):
            run.item(reseller.pk, account.pk,
                     transition(account_suspend, "dunning_suspended", run.now,
                                reason="payment failed"),
                     expect=Q(status__in=[AccountStatus.ACTIVE, AccountStatus.GRACE]))
        if (age >= dt.timedelta(days=config.dunning_reminder_days) and case.reminded_at is None
                and dunning_remind(actor=ACTOR, case=case, now=run.now)):
            run.count("dunning_reminders")


def _terminate(run: SweepRun, case: DunningCase, account: ServiceAccount) -> str | None:
    account_terminate(actor=ACTOR, account=account, reason="payment failed", now=run.now)
    dunning_close(actor=ACTOR, case=case, now=run.now)
    return "dunning_terminated"
