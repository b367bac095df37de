"""The pending queue: activations and renewals waiting for credits."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Reseller
from apps.core.actors import Actor
from apps.core.errors import InsufficientCredits, StateConflict

from ..models import (
    OperationKind,
    OperationStatus,
    PendingOperation,
    ServiceAccount,
)
from .accounts import _activate, _audit_account, _renew_locked


def pending_queue_drain(
    *, reseller: Reseller, livemode: bool = True, now: dt.datetime | None = None
) -> int:
    """Complete waiting activations and renewals, oldest first, while credits last.

    Each operation completes in its own transaction. The queue stops at the
    first operation the balance cannot pay, so a large old one is never
    overtaken by smaller new ones. Returns how many completed.
    """
    actor = Actor.system("pending-queue")
    now = now or timezone.now()
    completed = 0
    while True:
        with transaction.atomic():
            locked = Reseller.objects.select_for_update().get(pk=reseller.pk)
            operation = (
                PendingOperation.objects.select_for_update(skip_locked=True)
                .filter(reseller=locked, livemode=livemode, status=OperationStatus.WAITING)
                .order_by("requested_at", "id")
                .first()
            )
            if operation is None or locked.balance(livemode=livemode) < operation.credits:
                break
            account = ServiceAccount.objects.select_for_update(of=("self",)).select_related(
                "plan", "next_plan", "subscriber"
            ).get(pk=operation.account_id)
            account.reseller = locked
            try:
                if operation.kind == OperationKind.ACTIVATE:
                    _activate(account, actor=actor, months=operation.months,
                              cost=operation.credits, now=now)
                    _audit_account(actor, account, "activate", {"status": "pending"}, now)
                else:
                    _renew_locked(account, reseller=locked, actor=actor, months=operation.months,
                                  cost=operation.credits, key=operation.idempotency_key,
                                  reference=operation.reference, now=now)
                operation.status = OperationStatus.COMPLETED
            except (StateConflict, InsufficientCredits):
                # The account moved on (terminated, say) since it queued: drop the operation.
                operation.status = OperationStatus.CANCELLED
            operation.completed_at = now
            operation.save(update_fields=["status", "completed_at"])
            if operation.status == OperationStatus.COMPLETED:
                completed += 1
    reseller.refresh_from_db(fields=["credit_balance", "test_credit_balance"])
    return completed
