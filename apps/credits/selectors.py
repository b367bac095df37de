from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Page, Paginator

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm, authorize
from apps.core.actors import Actor
from apps.core.errors import ValidationError

from .models import CreditLedgerEntry, EntryKind

MAX_PAGE_SIZE = 500


def credits_balance(reseller: Reseller, *, actor: Actor, livemode: bool = True) -> int:
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    fresh = Reseller.objects.only("credit_balance", "test_credit_balance").get(pk=reseller.pk)
    return fresh.balance(livemode=livemode)


@dataclass(frozen=True)
class LedgerFilter:
    kind: str | None = None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    subscriber_id: int | None = None
    account_id: int | None = None


def credits_ledger(
    reseller: Reseller,
    *,
    actor: Actor,
    livemode: bool = True,
    filters: LedgerFilter | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """The reseller's ledger, newest first, filtered and paginated."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    filters = filters or LedgerFilter()
    if filters.kind is not None and filters.kind not in EntryKind.values:
        raise ValidationError(
            f"The kind is one of {', '.join(EntryKind.values)}.", code="invalid", param="kind"
        )
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError(f"page_size is 1 to {MAX_PAGE_SIZE}.", code="invalid",
                              param="page_size")
    entries = CreditLedgerEntry.objects.filter(reseller=reseller, livemode=livemode)
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.date_from:
        entries = entries.filter(created_at__gte=filters.date_from)
    if filters.date_to:
        entries = entries.filter(created_at__lt=filters.date_to)
    if filters.subscriber_id:
        entries = entries.filter(subscriber_id=filters.subscriber_id)
    if filters.account_id:
        entries = entries.filter(account_id=filters.account_id)
    entries = entries.select_related("subscriber", "account", "actor_user").order_by("-id")
    return Paginator(entries, page_size).get_page(page)
