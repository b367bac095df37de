from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet, Sum

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


def _checked(filters: LedgerFilter | None) -> LedgerFilter:
    filters = filters or LedgerFilter()
    if filters.kind is not None and filters.kind not in EntryKind.values:
        raise ValidationError(
            f"The kind is one of {', '.join(EntryKind.values)}.", code="invalid", param="kind"
        )
    return filters


# Newest first by when the movement happened, then by id for movements of the same instant.
# A movement's time can run behind its id (a service given an earlier `now`, two
# writers racing for the reseller lock), so the time order is the one people read.
TIME_ORDER = ("-created_at", "-id")


def _newer_than(entry: CreditLedgerEntry) -> Q:
    """The movements after entry in TIME_ORDER's sense."""
    return Q(created_at__gt=entry.created_at) | Q(created_at=entry.created_at, id__gt=entry.pk)


def credits_ledger(
    reseller: Reseller,
    *,
    actor: Actor,
    livemode: bool = True,
    filters: LedgerFilter | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """The reseller's ledger, newest first (by time, then id), filtered and paginated."""
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    filters = _checked(filters)
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
    entries = entries.select_related("subscriber", "account", "actor_user").order_by(*TIME_ORDER)
    return Paginator(entries, page_size).get_page(page)


def _latest_by_id(entries: QuerySet[CreditLedgerEntry]) -> tuple[int, int] | None:
    """(id, balance_after) of the last movement written: by the chain, the balance then is
    the sum of every movement up to that id, so reading it once pins a consistent total
    however many movements are written meanwhile."""
    return entries.order_by("-id").values_list("id", "balance_after").first()


def credits_balances_after(
    reseller: Reseller,
    *,
    actor: Actor,
    entries: Sequence[CreditLedgerEntry],
    livemode: bool = True,
) -> dict[int, int]:
    """The balance after each of entries (rows of one reseller's ledger), in time order.

    The balance after a movement is the sum of every movement up to it in
    TIME_ORDER, so it reads top down on a page newest first: each row's
    balance is the one below it plus its delta. That is balance_after itself
    wherever ids follow time; where a movement was written later than its time
    it differs, and the stored balance_after still records the balance the
    ledger held when the row was written. Filters do not change it: it counts
    every movement, shown or not. Two queries whatever the page's size.
    """
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    if not entries:
        return {}
    ledger = CreditLedgerEntry.objects.filter(reseller=reseller, livemode=livemode)
    latest = _latest_by_id(ledger)
    if latest is None:
        return {}
    last_id, total = latest
    oldest = min(entries, key=lambda e: (e.created_at, e.pk))
    sums = ledger.filter(_newer_than(oldest), id__lte=last_id).aggregate(**{
        f"after_{entry.pk}": Sum("delta", filter=_newer_than(entry), default=0)
        for entry in entries
    })
    return {entry.pk: total - sums[f"after_{entry.pk}"] for entry in entries}


def credits_ledger_export(
    reseller: Reseller,
    *,
    actor: Actor,
    livemode: bool = True,
    filters: LedgerFilter | None = None,
    chunk_size: int = 1000,
) -> Iterator[tuple[CreditLedgerEntry, int]]:
    """Every movement the filters match, newest first, each with the balance after it.

    The same order and balances as the ledger page (credits_balances_after), for
    the whole ledger in one streamed pass: the walk starts from the balance at
    the range's end and takes each movement's delta off on the way down, so the
    movements the filters leave out are read (for their deltas) but not given.
    The permission and the filters are checked here, before the first row is
    asked for, so a refusal never lands in the middle of a streamed download.
    """
    authorize(actor, reseller, Perm.CREDITS_VIEW)
    checked = _checked(filters)
    ledger = CreditLedgerEntry.objects.filter(reseller=reseller, livemode=livemode)

    def walk() -> Iterator[tuple[CreditLedgerEntry, int]]:
        latest = _latest_by_id(ledger)
        if latest is None:
            return
        last_id, balance = latest
        written = ledger.filter(id__lte=last_id)
        rows = written
        if checked.date_to:
            balance -= written.filter(created_at__gte=checked.date_to).aggregate(
                total=Sum("delta", default=0))["total"]
            rows = rows.filter(created_at__lt=checked.date_to)
        if checked.date_from:
            rows = rows.filter(created_at__gte=checked.date_from)
        rows = rows.select_related("account", "subscriber").order_by(*TIME_ORDER)
        for entry in rows.iterator(chunk_size=chunk_size):
            if ((not checked.kind or entry.kind == checked.kind)
                    and (not checked.subscriber_id or entry.subscriber_id == checked.subscriber_id)
                    and (not checked.account_id or entry.account_id == checked.account_id)):
                yield entry, balance
            balance -= entry.delta

    return walk()
