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
from apps.audit.services import audit_record
from apps.core import crypto
from apps.core.actors import Actor
from apps.core.errors import NotFound

from .models import (
    AccountEvent,
    AccountStatus,
    OperationStatus,
    PendingOperation,
    Plan,
    PlanStatus,
    ServiceAccount,
    Subscriber,
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


def account_credentials(
    reseller: Reseller, *, actor: Actor, account_id: int, audit: bool = True
) -> tuple[str, str]:
    """(username, password) in clear, for the reseller to pass on. The reveal is audited."""
    authorize(actor, reseller, Perm.CREDENTIALS_REVEAL)
    account = account_get(reseller, actor=actor, account_id=account_id)
    if audit:
        audit_record(actor=actor, reseller_id=reseller.pk, action="account.reveal_credentials",
                     obj=account)
    return account.username, crypto.decrypt(account.password_encrypted)


def pending_operations(
    reseller: Reseller, *, actor: Actor, livemode: bool = True
) -> QuerySet[PendingOperation]:
    authorize(actor, reseller, Perm.VIEW)
    return PendingOperation.objects.filter(
        reseller=reseller, livemode=livemode, status=OperationStatus.WAITING
    ).select_related("account", "account__subscriber")


class QueueReason:
    """Why an account is in the renewal queue (most urgent first)."""

    PENDING_CREDITS = "pending_credits"
    GRACE = "grace"
    SUSPENDED = "suspended"
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

    Reasons: waiting for credits (pending, or a renewal waiting), in grace,
    suspended, expiring within `within_days`. The API and the dashboard both
    read this one selector.
    """
    authorize(actor, reseller, Perm.VIEW)
    now = now or timezone.now()
    horizon = now + dt.timedelta(days=within_days)
    waiting = PendingOperation.objects.filter(
        account=OuterRef("pk"), status=OperationStatus.WAITING
    )
    reason = Case(
        When(Q(status=AccountStatus.PENDING) | Q(Exists(waiting)),
             then=Value(QueueReason.PENDING_CREDITS)),
        When(status=AccountStatus.GRACE, then=Value(QueueReason.GRACE)),
        When(status=AccountStatus.SUSPENDED, then=Value(QueueReason.SUSPENDED)),
        When(status=AccountStatus.ACTIVE, expires_at__lte=horizon,
             then=Value(QueueReason.EXPIRING)),
        default=Value(""),
        output_field=CharField(),
    )
    urgency = Case(
        When(Q(status=AccountStatus.PENDING) | Q(Exists(waiting)), then=Value(0)),
        When(status=AccountStatus.GRACE, then=Value(1)),
        When(status=AccountStatus.SUSPENDED, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        ServiceAccount.objects.filter(reseller=reseller, livemode=livemode)
        .filter(
            Q(status__in=[AccountStatus.PENDING, AccountStatus.GRACE, AccountStatus.SUSPENDED])
            | Q(status=AccountStatus.ACTIVE, expires_at__lte=horizon)
            | Q(Exists(waiting))
        )
        .annotate(queue_reason=reason, queue_urgency=urgency)
        .select_related("plan", "subscriber")
        .order_by("queue_urgency", "expires_at", "id")
    )
