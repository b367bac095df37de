"""The renewal sweep: every time-driven step of the account lifecycle, in order.

    1. auto-renewal of accounts whose renewal lead time has come (apps.payments)
    2. dunning: the failed-payment rules (apps.payments)
    3. expiry: active past `expires_at` -> grace
    4. grace over -> suspended
    5. suspended for the configured days -> terminated
    6. renewal reminders at each offset
    7. credit-floor alerts

The steps are listed in settings.SWEEP_STEPS as dotted paths, so the steps
that live in other apps (payments) reach the sweep without this app importing
them. A step is `step(run, reseller, config)`; what it may use of the sweep is
public here: `SweepRun` (now, dry_run, batch_size, report; `count`, `each`,
`item`, `attempt`), `id_batches`, `transition` and the system `ACTOR`.

It takes `now`, so tests and operators can move time. Candidates are read
from indexes (status, expiry), so its cost grows with the accounts due, not
with all accounts. Expiry, suspension, termination and reminders go
set-based, a batch (up to 500) per transaction; auto-renewals and the
failed-payment rules go one account per transaction through the services
(an auto-renewal's collection runs before that transaction, with no lock held).
Either way the reseller row is locked first (the one lock order of
services.py), then the accounts with `skip_locked`, so an account someone
else is changing is left for the next run; a batch that fails is redone one
account at a time, so one bad account costs only itself. Each effect has a unique key (a state that moves once, a reminder log
row, a dunning case, an idempotency key on the credit ledger, a crossing
counter), so running it twice, or killing it halfway and running it again,
ends exactly as one clean run.

A singleton lock keeps two sweeps from overlapping: on PostgreSQL a
session-level advisory lock, which the server releases by itself if the
process dies; elsewhere (SQLite, `make run`'s single machine) an exclusive
`flock` on a file under var/, which the kernel releases on process death too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache, partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.accounts.models import Reseller
from apps.audit.services import audit_record_many
from apps.core import catalogue
from apps.core.actors import Actor
from apps.core.dates import zone_named
from apps.core.db import insert_rows
from apps.core.errors import DomainError
from apps.core.events import DomainEvent, memoized, publish, publishing_many, remember

from . import services, states
from .models import (
    AccountEvent,
    AccountStatus,
    EventAction,
    OperationStatus,
    PendingOperation,
    Plan,
    ReminderLog,
    ServiceAccount,
    SubscriptionSettings,
)
from .selectors import subscription_settings_for

logger = logging.getLogger(__name__)

ACTOR = Actor.system("renewal-sweep")
# An arbitrary constant naming the sweep's advisory lock on PostgreSQL.
ADVISORY_LOCK_KEY = 0x5EE9_0001
DEFAULT_BATCH_SIZE = 500
DAY = dt.timedelta(days=1)

Progress = Callable[[str], None]
T = TypeVar("T")
# What `work` returns: the report counter to bump (None: nothing to count).
Work = Callable[[ServiceAccount], str | None]


@dataclass
class SweepReport:
    renewed: int = 0
    renewal_queued: int = 0
    payment_failed: int = 0
    # Collections whose outcome is not known yet (Stripe did not answer): not counted as items.
    payment_pending: int = 0
    dunning_reminders: int = 0
    dunning_suspended: int = 0
    dunning_terminated: int = 0
    expired: int = 0
    suspended: int = 0
    terminated: int = 0
    reminders: int = 0
    credit_floor_alerts: int = 0
    skipped: int = 0
    errors: int = 0
    resellers: int = 0
    locked_out: bool = False
    dry_run: bool = False
    seconds: float = 0.0
    error_messages: list[str] = field(default_factory=list)

    @property
    def transitions(self) -> int:
        return (self.expired + self.suspended + self.terminated + self.dunning_suspended
                + self.dunning_terminated)

    @property
    def items(self) -> int:
        return (self.transitions + self.renewed + self.renewal_queued + self.payment_failed
                + self.dunning_reminders + self.reminders + self.credit_floor_alerts)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(transitions=self.transitions, items=self.items)
        return data


# ---------------------------------------------------------------- the singleton lock


@contextmanager
def sweep_lock() -> Iterator[bool]:
    """Yield True when this process holds the sweep lock, False when another sweep does."""
    if connection.vendor == "postgresql":
        # Not for speed: the ORM has no advisory locks.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        return
    import fcntl

    path = settings.VAR_DIR / "sweep.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- helpers


def reminder_due_at(expires_at: dt.datetime, offset_days: int, zone: dt.tzinfo) -> dt.datetime:
    """The start of the reseller's local day `offset_days` before the expiry's local day."""
    day = expires_at.astimezone(zone).date() - dt.timedelta(days=offset_days)
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)


def _chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def id_batches(query: QuerySet[ServiceAccount], batch_size: int) -> list[list[int]]:
    """Ids of the candidates, in (expires_at, id) order, in batches.

    The ids are read in one query, before any batch changes them: paging the
    query instead re-reads what came before each page when many accounts share
    an expiry (a bulk import, a plan launch), which grows with the square of
    the accounts due. The memory is the ids of the accounts due, no more.
    """
    return _chunks(list(query.order_by("expires_at", "pk").values_list("pk", flat=True)),
                   batch_size)


@dataclass
class SweepRun:
    """One sweep's time, mode and report, and how a step does its work on them."""

    now: dt.datetime
    report: SweepReport
    dry_run: bool
    batch_size: int
    progress: Progress | None

    lock: threading.Lock = field(default_factory=threading.Lock)

    def tell(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def count(self, counter: str, n: int = 1) -> None:
        with self.lock:
            setattr(self.report, counter, getattr(self.report, counter) + n)

    def each(self, batches: Iterable[T], work: Callable[[T], None]) -> None:
        """`work` on every batch; on PostgreSQL, SWEEP_WORKERS batches at a time.

        Each worker thread has its own connection, so one batch's Python (the
        emails' subjects and contexts) runs while another's statements run.
        Batches are disjoint and each takes its accounts with `skip_locked`.
        Inside a transaction (a test's) the batches go one after another on
        the caller's connection, which alone sees what that transaction wrote.
        """
        workers = getattr(settings, "SWEEP_WORKERS", 1)
        pending = list(batches)  # already in memory: the due ids of one step
        if (workers < 2 or len(pending) < 2 or connection.vendor != "postgresql"
                or connection.in_atomic_block):
            for batch in pending:
                work(batch)
            return
        workers = min(workers, len(pending))
        source = iter(pending)
        failures: list[BaseException] = []
        logger.debug("sweep: batches on %s connections", workers)

        def worker() -> None:
            try:
                while not failures:
                    with self.lock:
                        batch = next(source, None)
                    if batch is None:
                        return
                    work(batch)
            except BaseException as error:
                failures.append(error)
            finally:
                connections.close_all()  # this thread's own

        threads = [threading.Thread(target=worker, name=f"sweep-{n}") for n in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]

    def attempt(self, account_id: int, work: Callable[[], str | None]) -> None:
        """`work` for one account, with its outcome counted.

        `work` returns the report counter to bump; a domain error counts as skipped
        (the account is not in a state for it), any other error is reported and
        costs only this account.
        """
        try:
            counter = work()
        except DomainError as error:
            self.count("skipped")
            logger.info("sweep: account %s skipped: %s", account_id, error)
            return
        except Exception as error:
            self.count("errors")
            self.error(f"account {account_id}: {type(error).__name__}: {error}")
            logger.exception("sweep: account %s failed", account_id)
            return
        if counter:
            self.count(counter)

    def error(self, message: str) -> None:
        """A message for the report's errors (the caller counts it)."""
        with self.lock:
            self.report.error_messages.append(message[:500])

    def item(self, reseller_id: int, account_id: int, work: Work, *, expect: Q,
             skip_locked: bool = True) -> None:
        """One account in its own transaction; `work` returns the report counter to bump.

        The reseller row is locked first (the one lock order), then the account if
        it still matches `expect`. With `skip_locked` an account someone else holds
        is left for the next run; without it, the work waits for it (a step that
        already took the subscriber's money must not leave it unapplied).
        """
        def locked() -> str | None:
            with transaction.atomic():
                Reseller.objects.select_for_update().only("pk").get(pk=reseller_id)
                account = (
                    ServiceAccount.objects.select_for_update(skip_locked=skip_locked,
                                                             of=("self",))
                    .filter(expect, pk=account_id)
                    .select_related("plan", "next_plan", "subscriber")
                    .first()
                )
                if account is None:
                    # Someone else holds it, or it moved on since we read it.
                    return "skipped"
                return work(account)

        self.attempt(account_id, locked)


def _accounts(reseller: Reseller, statuses: list[str]) -> QuerySet[ServiceAccount]:
    # Both modes listed so that PostgreSQL walks the (reseller, livemode, status, expires_at) index.
    return ServiceAccount.objects.filter(
        reseller=reseller, livemode__in=[True, False], status__in=statuses
    )


# ---------------------------------------------------------------- the steps


# What the emails of account events read of an account (the notifications consumer),
# with the subscriber selected; _preload sets the plan and the reseller on each account
# handed over with events.remember(("account", pk), account).
PRELOAD_ACCOUNT_FIELDS = (
    "reseller_id", "plan_id", "username", "expires_at", "auto_renew", "livemode", "subscriber",
    "subscriber__name", "subscriber__email", "subscriber__language",
)


def _preload(reseller: Reseller, accounts: Iterable[ServiceAccount]) -> None:
    """Hand the batch's accounts to the email consumer, with the reseller and plans loaded once."""
    plans = memoized(("plans", reseller.pk),
                     lambda: {p.pk: p for p in Plan.objects.filter(reseller=reseller)})
    for account in accounts:
        account.reseller = reseller
        account.plan = plans[account.plan_id]
        remember(("account", account.pk), account)


def _lock_reseller_shared(reseller_id: int) -> None:
    """The reseller row first, as services.py locks it, but shared among the sweep's batches.

    FOR KEY SHARE waits for a service holding the row FOR UPDATE and makes such
    a service wait, so the one lock order holds; two batches of the sweep do
    not wait for each other (they take disjoint accounts).
    """
    if connection.vendor != "postgresql":
        Reseller.objects.select_for_update().only("pk").get(pk=reseller_id)
        return
    # Hand-written: the ORM has FOR UPDATE and FOR NO KEY UPDATE, not FOR KEY SHARE. What it
    # bought, batches on SWEEP_WORKERS connections, bench/sweep.py measured (2ff2749: 3,237
    # items/s at 1,000,000 accounts).
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM accounts_reseller WHERE id = %s FOR KEY SHARE",
                       [reseller_id])


def _transition_batch(
    run: SweepRun,
    reseller: Reseller,
    ids: list[int],
    *,
    action: str,
    expect: Q,
    reason: str,
    counter: str,
    fallback: Work,
) -> None:
    """The set-based twin of services._simple_transition, for a batch of due accounts.

    One transaction: the reseller row locked first, then the accounts still due
    with `skip_locked`; one UPDATE, one insert each of events and audit rows,
    and the outbox rows in one insert. It checks the state machine for every
    account as the service does. If anything in the batch fails, the batch
    rolls back and its accounts go one by one through the service itself, so
    that one bad account costs only itself.
    """
    event_action = {"expire": EventAction.EXPIRE, "suspend": EventAction.SUSPEND,
                    "terminate": EventAction.TERMINATE}[action]
    try:
        with transaction.atomic(), publishing_many(batched=True):
            _lock_reseller_shared(reseller.pk)
            accounts = list(
                ServiceAccount.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(expect, pk__in=ids)
                .select_related("subscriber")
                .only("status", *PRELOAD_ACCOUNT_FIELDS)
                .order_by("pk")
            )
            if not accounts:
                run.count("skipped", len(ids))
                return
            before = {a.pk: (a.status, a.expires_at) for a in accounts}
            target = states.check(action, accounts[0].status)
            for account in accounts:
                states.check(action, account.status)
                account.status = target
                account.status_changed_at = run.now
                if action == "terminate":
                    account.pending_reason = ""
            _preload(reseller, accounts)
            pks = [a.pk for a in accounts]
            fields: dict[str, Any] = {"status": target, "status_changed_at": run.now,
                                      "updated_at": timezone.now()}
            if action == "terminate":
                fields["pending_reason"] = ""
                PendingOperation.objects.filter(
                    account_id__in=pks, status=OperationStatus.WAITING
                ).update(status=OperationStatus.CANCELLED, completed_at=run.now)
            ServiceAccount.objects.filter(pk__in=pks).update(**fields)
            event_ids = dict(insert_rows(AccountEvent, [
                {"account_id": a.pk, "reseller_id": a.reseller_id, "created_at": run.now,
                 "action": event_action, "actor_type": ACTOR.kind, "actor_label": ACTOR.label,
                 "from_status": before[a.pk][0], "to_status": target,
                 "old_expires_at": before[a.pk][1], "new_expires_at": a.expires_at,
                 "reason": reason, "data": {}}
                for a in accounts
            ], returning=("account_id", "id")))
            audit_record_many(
                actor=ACTOR, reseller_id=reseller.pk, action=f"account.{action}",
                changes=[(a, {"status": before[a.pk][0]}, {"status": target}) for a in accounts],
                now=run.now,
            )
            for account in accounts:
                publish(services.PUBLISHED_EVENTS[event_action].event(
                    reseller_id=reseller.pk, livemode=account.livemode,
                    payload=catalogue.AccountChanged(
                        account_id=account.pk, subscriber_id=account.subscriber_id,
                        event_id=event_ids[account.pk], from_status=before[account.pk][0],
                        to_status=target, now=run.now.isoformat(),
                    ),
                ))
    except Exception:
        logger.warning("sweep: a %s batch failed; going one by one", action, exc_info=True)
        for account_id in ids:
            run.item(reseller.pk, account_id, fallback, expect=expect)
        return
    run.count("skipped", len(ids) - len(accounts))
    run.count(counter, len(accounts))


def transition(
    service: Callable[..., ServiceAccount], counter: str, now: dt.datetime, **kwargs: Any
) -> Work:
    """Work for `SweepRun.item`: the service on the locked account, as the sweep's actor."""

    def work(account: ServiceAccount) -> str | None:
        service(actor=ACTOR, account=account, now=now, **kwargs)
        return counter

    return work


def step_expire(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    candidates = _accounts(reseller, [AccountStatus.ACTIVE]).filter(expires_at__lte=run.now)
    if run.dry_run:
        run.report.expired += candidates.count()
        return
    run.each(id_batches(candidates, run.batch_size), lambda ids: _transition_batch(
        run, reseller, ids, action="expire", reason="expired", counter="expired",
        expect=Q(status=AccountStatus.ACTIVE, expires_at__lte=run.now),
        fallback=transition(services.account_expire, "expired", run.now)))


def step_grace_over(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    cutoff = run.now - dt.timedelta(hours=config.grace_hours)
    candidates = _accounts(reseller, [AccountStatus.GRACE]).filter(expires_at__lte=cutoff)
    if run.dry_run:
        run.report.suspended += candidates.count()
        return
    run.each(id_batches(candidates, run.batch_size), lambda ids: _transition_batch(
        run, reseller, ids, action="suspend", reason="grace period over", counter="suspended",
        expect=Q(status=AccountStatus.GRACE, expires_at__lte=cutoff),
        fallback=transition(services.account_suspend, "suspended", run.now,
                             reason="grace period over")))


def step_terminate(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    cutoff = run.now - dt.timedelta(days=config.termination_after_days)
    candidates = _accounts(reseller, [AccountStatus.SUSPENDED]).filter(
        status_changed_at__lte=cutoff
    )
    if run.dry_run:
        run.report.terminated += candidates.count()
        return
    reason = f"suspended for {config.termination_after_days} days"
    run.each(id_batches(candidates, run.batch_size), lambda ids: _transition_batch(
        run, reseller, ids, action="terminate", reason=reason, counter="terminated",
        expect=Q(status=AccountStatus.SUSPENDED, status_changed_at__lte=cutoff),
        fallback=transition(services.account_terminate, "terminated", run.now,
                             reason=reason)))


def step_reminders(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    zone = zone_named(reseller.timezone)
    today = run.now.astimezone(zone).date()
    offsets = sorted({int(d) for d in config.reminder_offsets or []}, reverse=True)
    for offset in offsets:
        # The reminder at `offset` is due all through the local day `offset` days before the
        # expiry day, and stale after it: exactly the accounts expiring on local day today+offset.
        # A reminder the sweep missed on its day is not sent late.
        day_starts = reminder_due_at(run.now, -offset, zone)
        window_end = dt.datetime.combine(today + dt.timedelta(days=offset + 1), dt.time(0, 0),
                                         tzinfo=zone)
        sent = ReminderLog.objects.filter(account=OuterRef("pk"),
                                          period_expires_at=OuterRef("expires_at"),
                                          offset_days=offset)
        # Only accounts still running: once expired, the "expired" email says it all.
        candidates = (
            _accounts(reseller, [AccountStatus.ACTIVE])
            .filter(expires_at__gte=day_starts, expires_at__gt=run.now, expires_at__lt=window_end)
            .exclude(Exists(sent))
        )
        if run.dry_run:
            run.report.reminders += candidates.count()
            continue
        run.each(_reminder_batches(candidates, run.batch_size),
                 partial(_remind_batch, run, reseller, offset=offset))


def _reminder_batches(candidates: QuerySet[ServiceAccount],
                      batch_size: int) -> list[list[tuple[int, dt.datetime | None, bool]]]:
    """As id_batches, with each account's expiry and mode."""
    return _chunks(list(candidates.order_by("expires_at", "pk").values_list(
        "pk", "expires_at", "livemode")), batch_size)


def _remind_batch(run: SweepRun, reseller: Reseller,
                  rows: list[tuple[int, dt.datetime | None, bool]], offset: int) -> None:
    """A batch of reminders in one transaction; one by one if the batch fails."""
    due = [(pk, expires_at, livemode) for pk, expires_at, livemode in rows
           if expires_at is not None]
    try:
        with transaction.atomic(), publishing_many(batched=True):
            # The unique key (account, period, offset) is the truth: a row another writer
            # made first is not inserted again, and its reminder is that writer's to send.
            inserted = {pk for (pk,) in insert_rows(ReminderLog, [
                {"reseller_id": reseller.pk, "account_id": pk, "period_expires_at": expires_at,
                 "offset_days": offset, "livemode": livemode, "created_at": run.now}
                for pk, expires_at, livemode in due
            ], skip_conflict_on="reminder_once_per_period_offset", returning=("account_id",))}
            _preload(reseller, ServiceAccount.objects.filter(
                pk__in=inserted).select_related("subscriber").only(*PRELOAD_ACCOUNT_FIELDS))
            for pk, expires_at, livemode in due:
                if pk not in inserted:
                    continue
                publish(_reminder_due(reseller, pk, expires_at, livemode, offset, run.now))
    except Exception:
        logger.warning("sweep: a reminder batch failed; going one by one", exc_info=True)
        for pk, expires_at, livemode in due:
            _remind(run, reseller, pk, expires_at, livemode, offset)
        return
    run.count("reminders", len(inserted))
    run.count("skipped", len(due) - len(inserted))


def _reminder_due(reseller: Reseller, account_id: int, expires_at: dt.datetime, livemode: bool,
                  offset: int, now: dt.datetime) -> DomainEvent:
    return catalogue.ACCOUNT_REMINDER_DUE.event(
        reseller_id=reseller.pk, livemode=livemode,
        payload=catalogue.ReminderDue(
            account_id=account_id, offset_days=offset, now=now.isoformat(),
            dedupe_key=f"reminder:{account_id}:{expires_at.isoformat()}:{offset}",
        ),
    )


def _remind(run: SweepRun, reseller: Reseller, account_id: int, expires_at: dt.datetime,
            livemode: bool, offset: int) -> None:
    try:
        with transaction.atomic():
            ReminderLog.objects.create(reseller=reseller, account_id=account_id,
                                       period_expires_at=expires_at, offset_days=offset,
                                       livemode=livemode, created_at=run.now)
            publish(_reminder_due(reseller, account_id, expires_at, livemode, offset, run.now))
    except IntegrityError:
        # The unique key says this reminder went already (a concurrent or earlier run).
        run.count("skipped")
        return
    except Exception as error:
        run.count("errors")
        run.report.error_messages.append(f"reminder {account_id}: {error}"[:500])
        logger.exception("sweep: reminder for account %s failed", account_id)
        return
    run.count("reminders")


def credits_needed_within(reseller: Reseller, *, now: dt.datetime, days: int) -> int:
    """Credits the live auto-renewals due within `days` need (at their next plan's price)."""
    cost = Coalesce(F("next_plan__credit_cost"), F("plan__credit_cost"))
    duration = Coalesce(F("next_plan__duration_months"), F("plan__duration_months"))
    total = (
        ServiceAccount.objects.filter(
            reseller=reseller, livemode=True,
            status__in=[AccountStatus.ACTIVE, AccountStatus.GRACE], auto_renew=True,
            expires_at__lte=now + dt.timedelta(days=days),
        )
        .aggregate(total=Sum(cost * F("renewal_period_months") / duration))["total"]
    )
    return int(total or 0)


def step_credit_floor(run: SweepRun, reseller: Reseller, config: SubscriptionSettings) -> None:
    if config.pk is None:
        return
    balance = Reseller.objects.values_list("credit_balance", flat=True).get(pk=reseller.pk)
    below = config.credit_floor > 0 and balance < config.credit_floor
    if below == config.credit_floor_alerted or run.dry_run:
        if run.dry_run and below and not config.credit_floor_alerted:
            run.report.credit_floor_alerts += 1
        return
    with transaction.atomic():
        locked = SubscriptionSettings.objects.select_for_update().get(pk=config.pk)
        if not below:
            # Back at or above the floor: armed for the next crossing.
            locked.credit_floor_alerted = False
            locked.save(update_fields=["credit_floor_alerted"])
            return
        if locked.credit_floor_alerted:
            return
        locked.credit_floor_alerted = True
        locked.credit_floor_crossings += 1
        locked.save(update_fields=["credit_floor_alerted", "credit_floor_crossings"])
        recipients = [a.strip() for a in locked.low_credit_recipients.split(",") if a.strip()]
        publish(catalogue.RESELLER_CREDIT_FLOOR.event(
            reseller_id=reseller.pk, livemode=True,
            payload=catalogue.CreditFloor(
                balance=balance, floor=locked.credit_floor,
                crossing=locked.credit_floor_crossings, recipients=recipients,
                needed_7_days=credits_needed_within(reseller, now=run.now, days=7),
                needed_30_days=credits_needed_within(reseller, now=run.now, days=30),
                now=run.now.isoformat(),
            ),
        ))
    run.report.credit_floor_alerts += 1


Step = Callable[[SweepRun, Reseller, SubscriptionSettings], None]


@cache
def _load_steps(paths: tuple[tuple[str, str], ...]) -> list[tuple[str, Step]]:
    return [(label, import_string(path)) for label, path in paths]


def sweep_steps() -> list[tuple[str, Step]]:
    """The steps of settings.SWEEP_STEPS, in their order: (label, step)."""
    return _load_steps(tuple((label, path) for label, path in settings.SWEEP_STEPS))


def sweep(
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    reseller_slug: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> SweepReport:
    """Run every lifecycle step once for every active reseller (or one), at `now`."""
    now = now or timezone.now()
    started = time.monotonic()
    report = SweepReport(dry_run=dry_run)
    run = SweepRun(now=now, report=report, dry_run=dry_run, batch_size=batch_size, progress=progress)
    with sweep_lock() as acquired:
        if not acquired:
            report.locked_out = True
            run.tell("Another sweep is running: nothing done.")
            return report
        resellers = Reseller.objects.filter(is_active=True).order_by("pk")
        if reseller_slug is not None:
            resellers = resellers.filter(slug=reseller_slug)
        for reseller in resellers:
            config = subscription_settings_for(reseller)
            for name, step in sweep_steps():
                step(run, reseller, config)
                run.tell(f"{reseller.slug}: {name} done ({report.items} items so far)")
            report.resellers += 1
    report.seconds = round(time.monotonic() - started, 3)
    return report
