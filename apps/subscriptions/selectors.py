"""Reads the UI and the API share. Each takes the reseller first and checks the actor."""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    CharField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.core.errors import NotFound

from .models import (
    AccountEvent,
    AccountStatus,
    DunningCase,
    DunningStatus,
    OperationStatus,
    PendingOperation,
    Plan,
    PlanStatus,
    ReminderLog,
    ServiceAccount,
    Subscriber,
    SubscriptionSettings,
)


def plan_list(
    reseller: Reseller, *, actor: Actor, include_archived: bool = False
) -> QuerySet[Plan]:
    authorize(actor, reseller, Perm.VIEW)
    plans = Plan.objects.filter(reseller=reseller).prefetch_related("prices")
    if not include_archived:
        plans = plans.filter(status=PlanStatus.ACTIVE)
    return plans


def plan_get(reseller: Reseller, *, actor: Actor, plan_id: int) -> Plan:
    authorize(actor, reseller, Perm.VIEW)
    plan = Plan.objects.filter(reseller=reseller, pk=plan_id).first()
    if plan is None:
        raise NotFound("No such plan.", code="plan_not_found", param="plan")
    return plan


def subscriber_list(
    reseller: Reseller, *, actor: Actor, livemode: bool = True
) -> QuerySet[Subscriber]:
    authorize(actor, reseller, Perm.VIEW)
    return Subscriber.objects.filter(reseller=reseller, livemode=livemode)


SUBSCRIBER_SEARCH_MIN = 2


def subscriber_search(
    reseller: Reseller, *, actor: Actor, query: str, limit: int = 10, livemode: bool = True
) -> list[Subscriber]:
    """At most `limit` of the reseller's subscribers whose name or email contains `query`,
    or whose external id is `query`; none for a query shorter than SUBSCRIBER_SEARCH_MIN.

    One query, bounded by `limit`, whatever the number of subscribers.
    """
    authorize(actor, reseller, Perm.VIEW)
    query = query.strip()
    if len(query) < SUBSCRIBER_SEARCH_MIN:
        return []
    return list(
        Subscriber.objects.filter(reseller=reseller, livemode=livemode)
        .filter(Q(name__icontains=query) | Q(email__icontains=query) | Q(external_id=query))
        .order_by("name", "id")[:limit]
    )


def subscriber_get(
    reseller: Reseller, *, actor: Actor, subscriber_id: int, livemode: bool | None = None
) -> Subscriber:
    authorize(actor, reseller, Perm.VIEW)
    subscribers = Subscriber.objects.filter(reseller=reseller, pk=subscriber_id)
    if livemode is not None:
        subscribers = subscribers.filter(livemode=livemode)
    subscriber = subscribers.first()
    if subscriber is None:
        raise NotFound("No such subscriber.", code="subscriber_not_found", param="subscriber")
    return subscriber


def account_list(
    reseller: Reseller,
    *,
    actor: Actor,
    livemode: bool = True,
    status: str | None = None,
    plan_id: int | None = None,
    subscriber_id: int | None = None,
) -> QuerySet[ServiceAccount]:
    authorize(actor, reseller, Perm.VIEW)
    accounts = ServiceAccount.objects.filter(reseller=reseller, livemode=livemode)
    if status:
        accounts = accounts.filter(status=status)
    if plan_id:
        accounts = accounts.filter(plan_id=plan_id)
    if subscriber_id:
        accounts = accounts.filter(subscriber_id=subscriber_id)
    return accounts.select_related("plan", "subscriber")


def account_get(
    reseller: Reseller, *, actor: Actor, account_id: int, livemode: bool | None = None
) -> ServiceAccount:
    authorize(actor, reseller, Perm.VIEW)
    accounts = ServiceAccount.objects.filter(reseller=reseller, pk=account_id)
    if livemode is not None:
        accounts = accounts.filter(livemode=livemode)
    account = accounts.select_related("plan", "subscriber", "reseller").first()
    if account is None:
        raise NotFound("No such account.", code="account_not_found", param="account")
    return account


def account_events(
    reseller: Reseller, *, actor: Actor, account_id: int
) -> QuerySet[AccountEvent]:
    account = account_get(reseller, actor=actor, account_id=account_id)
    return AccountEvent.objects.filter(account=account).select_related("actor_user")


def pending_operations(
    reseller: Reseller, *, actor: Actor, livemode: bool = True
) -> QuerySet[PendingOperation]:
    authorize(actor, reseller, Perm.VIEW)
    return PendingOperation.objects.filter(
        reseller=reseller, livemode=livemode, status=OperationStatus.WAITING
    ).select_related("account", "account__subscriber")


def subscription_settings_for(reseller: Reseller) -> SubscriptionSettings:
    """The reseller's lifecycle settings row, or the defaults (unsaved) when it has none.

    No actor check: for callers that have authorized already (the sweep, the credit floor
    on the dashboard's overview and the API's balance). The settings pages read
    `apps.notifications.selectors.reseller_settings_get`, which checks the actor and adds
    the Reseller row's columns and the notification settings.
    """
    found = SubscriptionSettings.objects.filter(reseller=reseller).first()
    return found or SubscriptionSettings(reseller=reseller)


class QueueReason:
    """Why an account is in the renewal queue (most urgent first)."""

    PENDING_CREDITS = "pending_credits"
    PAYMENT_FAILED = "payment_failed"
    GRACE = "grace"
    SUSPENDED = "suspended"
    REMINDED = "reminded"
    EXPIRING = "expiring"


def renewal_queue(
    reseller: Reseller,
    *,
    actor: Actor,
    livemode: bool = True,
    within_days: int = 7,
    now: dt.datetime | None = None,
) -> QuerySet[ServiceAccount]:
    """Accounts that need attention, each annotated with `queue_reason`, most urgent first.

    Reasons: waiting for credits (pending, or a renewal waiting), payment
    failed (an open dunning case), in grace, suspended, reminded (a renewal
    reminder went out for the current period), expiring within
    `within_days` (apps.notifications.selectors.with_last_notification adds
    each row's last email). Test-mode accounts appear
    only with livemode=False. The API and the dashboard both read this one
    selector; its query count does not grow with the rows.
    """
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=within_days)
    waiting = Exists(PendingOperation.objects.filter(
        account=OuterRef("pk"), status=OperationStatus.WAITING
    ))
    failed = Exists(DunningCase.objects.filter(account=OuterRef("pk"),
                                               status=DunningStatus.OPEN))
    reminded = Exists(ReminderLog.objects.filter(account=OuterRef("pk"),
                                                 period_expires_at=OuterRef("expires_at")))
    live_statuses = [AccountStatus.ACTIVE, AccountStatus.GRACE, AccountStatus.SUSPENDED]
    reasons = [
        (Q(status=AccountStatus.PENDING) | Q(waiting), QueueReason.PENDING_CREDITS),
        (Q(failed) & Q(status__in=live_statuses), QueueReason.PAYMENT_FAILED),
        (Q(status=AccountStatus.GRACE), QueueReason.GRACE),
        (Q(status=AccountStatus.SUSPENDED), QueueReason.SUSPENDED),
        (Q(status=AccountStatus.ACTIVE) & Q(reminded), QueueReason.REMINDED),
        (Q(status=AccountStatus.ACTIVE, expires_at__lte=horizon), QueueReason.EXPIRING),
    ]
    reason = Case(*[When(cond, then=Value(name)) for cond, name in reasons],
                  default=Value(""), output_field=CharField())
    urgency = Case(*[When(cond, then=Value(rank)) for rank, (cond, _) in enumerate(reasons)],
                   default=Value(len(reasons)), output_field=IntegerField())
    # The candidates, each arm on its own index, so that the cost follows the accounts that
    # need attention, not all the reseller's accounts; the reasons above then sort them out.
    accounts = ServiceAccount.objects.filter(reseller=reseller, livemode=livemode).order_by()
    candidates = accounts.filter(
        status__in=[AccountStatus.PENDING, AccountStatus.GRACE, AccountStatus.SUSPENDED]
    ).values("pk").union(
        accounts.filter(status=AccountStatus.ACTIVE, expires_at__lte=horizon).values("pk"),
        PendingOperation.objects.filter(
            reseller=reseller, livemode=livemode, status=OperationStatus.WAITING
        ).order_by().values("account_id"),
        DunningCase.objects.filter(
            reseller=reseller, status=DunningStatus.OPEN
        ).order_by().values("account_id"),
        ReminderLog.objects.filter(
            reseller=reseller, period_expires_at__gt=now
        ).order_by().values("account_id"),
    )
    return (
        ServiceAccount.objects.filter(reseller=reseller, livemode=livemode, pk__in=candidates)
        .annotate(
            queue_reason=reason,
            queue_urgency=urgency,
        )
        .exclude(queue_reason="")
        .select_related("plan", "subscriber")
        .order_by("queue_urgency", "expires_at", "id")
    )
