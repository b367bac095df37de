"""Reads for the dashboard pages, built on the foundation's tenant-checked selectors.

The subscriber list pages by keyset (the last row's sort value and id), never
by OFFSET, and counts at most COUNT_CAP rows, so a page costs the same at a
thousand accounts or a million.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.accounts.selectors import audit_entries, staff_of
from apps.api.models import ApiKey
from apps.audit.models import AuditEntry
from apps.core.actors import Actor
from apps.core.dates import zone_named
from apps.core.errors import DomainError
from apps.credits.models import CreditLedgerEntry
from apps.subscriptions.models import (
    AccountEvent,
    AccountStatus,
    DunningCase,
    DunningStatus,
    OperationStatus,
    PendingOperation,
    Plan,
    ReminderLog,
    ServiceAccount,
    Subscriber,
)
from apps.subscriptions.selectors import QueueReason, account_list, subscription_settings_for
from apps.subscriptions.services import credits_for
from apps.subscriptions.sweep import credits_needed_within

PAGE_SIZE = 50
COUNT_CAP = 1000
# A search looks at most this many matches per kind (username, subscriber).
SEARCH_CAP = 2000
EXPIRY_WINDOWS = (7, 14, 30)
SORTS = ("expires", "newest", "username")


@dataclass(frozen=True)
class AccountFilter:
    q: str = ""
    status: str = ""
    plan_id: int | None = None
    expiring_days: int | None = None
    auto_renew: bool | None = None
    pending: bool = False
    sort: str = "expires"


@dataclass
class AccountPage:
    rows: list[ServiceAccount]
    next_cursor: str | None
    count: int
    count_capped: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _filtered(
    reseller: Reseller, *, actor: Actor, filters: AccountFilter, now: dt.datetime
) -> QuerySet[ServiceAccount]:
    accounts = account_list(reseller, actor=actor, status=filters.status or None,
                            plan_id=filters.plan_id)
    waiting = PendingOperation.objects.filter(
        account=OuterRef("pk"), status=OperationStatus.WAITING
    )
    q = filters.q.strip()
    if q:
        # Two bounded lookups, each on its own trigram index, instead of one OR
        # across two tables that the planner can only answer by scanning.
        by_username = list(
            accounts.filter(username__icontains=q).order_by().values_list("id", flat=True)[
                :SEARCH_CAP]
        )
        by_subscriber = list(
            Subscriber.objects.filter(reseller=reseller, livemode=True)
            .filter(Q(name__icontains=q) | Q(email__icontains=q) | Q(external_id=q))
            .order_by().values_list("id", flat=True)[:SEARCH_CAP]
        )
        accounts = accounts.filter(Q(pk__in=by_username) | Q(subscriber_id__in=by_subscriber))
    if filters.expiring_days:
        accounts = accounts.filter(
            expiring_between(now, now + dt.timedelta(days=filters.expiring_days)))
    if filters.auto_renew is not None:
        accounts = accounts.filter(auto_renew=filters.auto_renew)
    if filters.pending:
        # Every account waiting for credits (a pending activation or a queued
        # renewal) has one waiting operation: start from those few rows
        # rather than test every account.
        waiting_ids = PendingOperation.objects.filter(
            reseller=reseller, livemode=True, status=OperationStatus.WAITING
        ).values("account_id")
        accounts = accounts.filter(pk__in=waiting_ids)
    return accounts.annotate(has_waiting=Exists(waiting))


def _parse_cursor(cursor: str, sort: str) -> tuple[Any, int] | None:
    value, _, raw_id = cursor.rpartition("|")
    try:
        last_id = int(raw_id)
        if sort == "expires":
            return (dt.datetime.fromisoformat(value) if value else None), last_id
        if sort == "username":
            return value, last_id
        return None, last_id
    except ValueError:
        return None


def account_page(
    reseller: Reseller,
    *,
    actor: Actor,
    filters: AccountFilter,
    cursor: str = "",
    page_size: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> AccountPage:
    now = now or timezone.now()
    accounts = _filtered(reseller, actor=actor, filters=filters, now=now)
    sort = filters.sort if filters.sort in SORTS else "expires"
    position = _parse_cursor(cursor, sort) if cursor else None
    if sort == "newest":
        ordered = accounts.order_by("-id")
        if position:
            ordered = ordered.filter(id__lt=position[1])
    elif sort == "username":
        ordered = accounts.order_by("username", "id")
        if position:
            name, last_id = position
            ordered = ordered.filter(Q(username__gt=name) | Q(username=name, id__gt=last_id))
    else:
        ordered = accounts.order_by(F("expires_at").asc(nulls_last=True), "id")
        if position:
            expires, last_id = position
            if expires is None:
                ordered = ordered.filter(expires_at__isnull=True, id__gt=last_id)
            else:
                ordered = ordered.filter(
                    Q(expires_at__gt=expires) | Q(expires_at=expires, id__gt=last_id)
                    | Q(expires_at__isnull=True)
                )
    rows = list(ordered[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        if sort == "newest":
            next_cursor = f"|{last.pk}"
        elif sort == "username":
            next_cursor = f"{last.username}|{last.pk}"
        else:
            next_cursor = f"{last.expires_at.isoformat() if last.expires_at else ''}|{last.pk}"
    capped = len(accounts.order_by().values("id")[: COUNT_CAP + 1])
    return AccountPage(rows=rows, next_cursor=next_cursor, count=min(capped, COUNT_CAP),
                       count_capped=capped > COUNT_CAP)


def accounts_for_export(
    reseller: Reseller, *, actor: Actor, filters: AccountFilter, now: dt.datetime | None = None
) -> QuerySet[ServiceAccount]:
    return _filtered(reseller, actor=actor, filters=filters, now=now or timezone.now()).order_by(
        "id"
    )


# The overview's charts: the last CHART_DAYS local days (today included) of credit movements,
# and the next CHART_DAYS local days (today first) of expiries.
CHART_DAYS = 30
# The accounts whose expiry the overview and the expiring list show: the states that renew
# or lapse at their expiry (pending has no expiry yet; suspended and terminated have lapsed).
EXPIRING_STATUSES = (AccountStatus.ACTIVE, AccountStatus.GRACE)


def expiring_between(start: dt.datetime, end: dt.datetime) -> Q:
    """Accounts expiring in [start, end): one definition for the overview's table and chart
    and the expiring list, so that they count the same accounts."""
    return Q(status__in=EXPIRING_STATUSES, expires_at__gte=start, expires_at__lt=end)


def local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@dataclass(frozen=True)
class DayCredits:
    day: dt.date
    used: int
    added: int


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    n: int


@dataclass
class Overview:
    balance: int
    credits_due_7: int
    credits_due_30: int
    credit_floor: int
    waiting_credits: int
    queue_by_reason: dict[str, int]
    expiring_7: list[ServiceAccount]
    expiring_7_count: int
    recent_events: list[AccountEvent]
    # CHART_DAYS consecutive local days each, zeros filled in.
    ledger_by_day: list[DayCredits]
    due_by_day: list[DayCount]


def _ledger_by_day(
    reseller: Reseller, *, zone: dt.tzinfo, today: dt.date, days: int = CHART_DAYS
) -> list[DayCredits]:
    """Credits used and added per local day, the `days` days up to `today`, zeros included."""
    first = today - dt.timedelta(days=days - 1)
    rows = (
        CreditLedgerEntry.objects.filter(
            reseller=reseller, livemode=True,
            created_at__gte=local_midnight(first, zone),
            created_at__lt=local_midnight(today + dt.timedelta(days=1), zone),
        )
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(spent=Sum("delta", filter=Q(delta__lt=0)),
                  added=Sum("delta", filter=Q(delta__gt=0)))
    )
    found = {row["day"]: (-(row["spent"] or 0), row["added"] or 0) for row in rows}
    out = []
    for i in range(days):
        day = first + dt.timedelta(days=i)
        used, added = found.get(day, (0, 0))
        out.append(DayCredits(day=day, used=used, added=added))
    return out


def _due_by_day(
    reseller: Reseller, *, zone: dt.tzinfo, now: dt.datetime, days: int = CHART_DAYS
) -> list[DayCount]:
    """Accounts expiring per local day from now to the end of the `days`-th day (today first),
    by the same definition as the expiring table (`expiring_between`), zeros included."""
    today = now.astimezone(zone).date()
    end = local_midnight(today + dt.timedelta(days=days), zone)
    counts = dict(
        ServiceAccount.objects.filter(reseller=reseller, livemode=True)
        .filter(expiring_between(now, end))
        .annotate(day=TruncDate("expires_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [DayCount(day=day, n=counts.get(day, 0))
            for day in (today + dt.timedelta(days=i) for i in range(days))]


def queue_counts(
    reseller: Reseller, *, actor: Actor, now: dt.datetime | None = None, within_days: int = 7
) -> dict[str, int]:
    """How many accounts the renewal queue holds per reason (the reasons it holds any for),
    without listing them.

    The same reasons and the same order of precedence as
    `apps.subscriptions.selectors.renewal_queue` (a test compares the two), counted by one
    small query per reason that the indexes answer: grouping the queue's own queryset by its
    reason walks every candidate row through a CASE of correlated subqueries, 0.8 s at
    200,000 accounts, most of it PostgreSQL compiling the plan (JIT).
    """
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=within_days)
    accounts = ServiceAccount.objects.filter(reseller=reseller, livemode=True).order_by()
    waiting = PendingOperation.objects.filter(
        reseller=reseller, livemode=True, status=OperationStatus.WAITING
    ).values("account_id")
    failed = DunningCase.objects.filter(
        reseller=reseller, status=DunningStatus.OPEN
    ).values("account_id")
    reminded = Exists(ReminderLog.objects.filter(account=OuterRef("pk"),
                                                 period_expires_at=OuterRef("expires_at")))
    counts = {
        QueueReason.PENDING_CREDITS: (
            accounts.filter(status=AccountStatus.PENDING).count()
            + accounts.filter(pk__in=waiting).exclude(status=AccountStatus.PENDING).count()
        ),
        QueueReason.PAYMENT_FAILED: accounts.filter(
            pk__in=failed,
            status__in=[AccountStatus.ACTIVE, AccountStatus.GRACE, AccountStatus.SUSPENDED],
        ).exclude(pk__in=waiting).count(),
    }
    # Every later reason yields to the two above.
    settled = accounts.exclude(pk__in=waiting).exclude(pk__in=failed)
    lapsed = dict(
        settled.filter(status__in=[AccountStatus.GRACE, AccountStatus.SUSPENDED])
        .values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    counts[QueueReason.GRACE] = lapsed.get(AccountStatus.GRACE, 0)
    counts[QueueReason.SUSPENDED] = lapsed.get(AccountStatus.SUSPENDED, 0)
    counts[QueueReason.REMINDED] = settled.filter(reminded, status=AccountStatus.ACTIVE).count()
    counts[QueueReason.EXPIRING] = (
        settled.filter(status=AccountStatus.ACTIVE, expires_at__lte=horizon)
        .exclude(reminded).count()
    )
    return {reason: n for reason, n in counts.items() if n}


def overview(reseller: Reseller, *, actor: Actor, now: dt.datetime | None = None) -> Overview:
    """The overview page's figures; days are the reseller's local days (Reseller.timezone)."""
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    zone = zone_named(reseller.timezone)
    fresh = Reseller.objects.only("credit_balance").get(pk=reseller.pk)
    waiting = PendingOperation.objects.filter(
        reseller=reseller, livemode=True, status=OperationStatus.WAITING
    ).aggregate(total=Sum("credits"))["total"] or 0
    expiring = ServiceAccount.objects.filter(reseller=reseller, livemode=True).filter(
        expiring_between(now, now + dt.timedelta(days=7))
    ).select_related("subscriber", "plan").order_by("expires_at", "id")
    events = list(
        AccountEvent.objects.filter(reseller=reseller)
        .select_related("account", "account__subscriber")
        .order_by("-created_at", "-id")[:10]
    )
    return Overview(
        balance=fresh.credit_balance,
        # The sweep's own figures: what the credit-floor alert and the balance endpoint say.
        credits_due_7=credits_needed_within(reseller, now=now, days=7),
        credits_due_30=credits_needed_within(reseller, now=now, days=30),
        credit_floor=subscription_settings_for(reseller).credit_floor,
        waiting_credits=waiting,
        queue_by_reason=queue_counts(reseller, actor=actor, now=now),
        expiring_7=list(expiring[:10]),
        expiring_7_count=expiring.count(),
        recent_events=events,
        ledger_by_day=_ledger_by_day(reseller, zone=zone, today=now.astimezone(zone).date()),
        due_by_day=_due_by_day(reseller, zone=zone, now=now),
    )


def credits_needed(plan_cost_months: tuple[Any, int]) -> int | None:
    plan, months = plan_cost_months
    try:
        return credits_for(plan, months)
    except DomainError:
        return None


# ---------------------------------------------------------------- the audit trail

AUDIT_PAGE_SIZE = 50
ACCOUNT_TYPE = ServiceAccount._meta.label_lower
SUBSCRIBER_TYPE = Subscriber._meta.label_lower
PLAN_TYPE = Plan._meta.label_lower


@dataclass(frozen=True)
class AuditFilter:
    # "user:<id>", "api_key:<id>" or "system" (audit_actor_choices lists them).
    actor: str = ""
    action: str = ""
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None


@dataclass
class AuditRow:
    entry: AuditEntry
    # What the object is called (an account's username, a subscriber's or plan's
    # name); "" when it is gone or its kind has no name worth a query.
    object_name: str = ""
    # Where the object is seen: the subscriber page for an account or a subscriber.
    subscriber_id: int | None = None


@dataclass
class AuditPage:
    rows: list[AuditRow]
    next_cursor: str | None


def audit_actor_choices(reseller: Reseller, *, actor: Actor) -> list[tuple[str, str]]:
    """Who can appear in the reseller's audit trail: its staff, its API keys, the system."""
    authorize(actor, reseller, Perm.AUDIT_VIEW)
    staff = [(f"user:{m.user_id}", m.user.email)
             for m in staff_of(reseller, actor=actor).order_by("user__email")]
    keys = [(f"api_key:{pk}", f"{name} ({prefix})") for pk, name, prefix in
            ApiKey.objects.filter(reseller=reseller).order_by("name", "id")
            .values_list("id", "name", "prefix")]
    return [*staff, *keys, ("system", "system")]


def _actor_q(value: str) -> Q | None:
    kind, _, raw_id = value.partition(":")
    if kind == "system" and not raw_id:
        return Q(actor_type="system")
    if not raw_id.isdigit():
        return None
    if kind == "user":
        return Q(actor_type="user", actor_user_id=int(raw_id))
    if kind == "api_key":
        return Q(actor_type="api_key", actor_api_key_id=int(raw_id))
    return None


def _audit_cursor(cursor: str) -> Q | None:
    value, _, raw_id = cursor.rpartition("|")
    try:
        at, last_id = dt.datetime.fromisoformat(value), int(raw_id)
    except ValueError:
        return None
    if at.tzinfo is None:  # not one this page wrote: start from the newest
        return None
    return Q(created_at__lt=at) | Q(created_at=at, id__lt=last_id)


def audit_page(
    reseller: Reseller,
    *,
    actor: Actor,
    filters: AuditFilter,
    cursor: str = "",
    page_size: int = AUDIT_PAGE_SIZE,
) -> AuditPage:
    """The reseller's audit trail, newest first by time then id, by keyset.

    Each row comes with the name of what it changed, looked up once per kind for
    the whole page (accounts, subscribers, plans), so a page costs the same
    queries at ten rows or fifty.
    """
    entries = audit_entries(reseller, actor=actor)
    if filters.actor:
        who = _actor_q(filters.actor)
        entries = entries.filter(who) if who is not None else entries.none()
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.date_from:
        entries = entries.filter(created_at__gte=filters.date_from)
    if filters.date_to:
        entries = entries.filter(created_at__lt=filters.date_to)
    if cursor:
        after = _audit_cursor(cursor)
        if after is not None:
            entries = entries.filter(after)
    found = list(entries.order_by("-created_at", "-id")[: page_size + 1])
    next_cursor = None
    if len(found) > page_size:
        found = found[:page_size]
        next_cursor = f"{found[-1].created_at.isoformat()}|{found[-1].pk}"

    def ids(object_type: str) -> list[int]:
        return [int(e.object_id) for e in found
                if e.object_type == object_type and e.object_id.isdigit()]

    account_ids, subscriber_ids, plan_ids = ids(ACCOUNT_TYPE), ids(SUBSCRIBER_TYPE), ids(PLAN_TYPE)
    accounts = {pk: (username, subscriber_id) for pk, username, subscriber_id in
                ServiceAccount.objects.filter(reseller=reseller, pk__in=account_ids)
                .values_list("id", "username", "subscriber_id")} if account_ids else {}
    subscribers = dict(Subscriber.objects.filter(reseller=reseller, pk__in=subscriber_ids)
                       .values_list("id", "name")) if subscriber_ids else {}
    plans = dict(Plan.objects.filter(reseller=reseller, pk__in=plan_ids)
                 .values_list("id", "name")) if plan_ids else {}
    rows = []
    for entry in found:
        row = AuditRow(entry=entry)
        pk = int(entry.object_id) if entry.object_id.isdigit() else None
        if entry.object_type == ACCOUNT_TYPE and pk in accounts:
            row.object_name, row.subscriber_id = accounts[pk]
        elif entry.object_type == SUBSCRIBER_TYPE and pk in subscribers:
            row.object_name, row.subscriber_id = subscribers[pk], pk
        elif entry.object_type == PLAN_TYPE and pk in plans:
            row.object_name = plans[pk]
        rows.append(row)
    return AuditPage(rows=rows, next_cursor=next_cursor)
