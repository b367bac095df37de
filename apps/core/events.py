"""Domain events: what happened, told to the parts that react (emails, webhooks).

`publish` runs inside the caller's transaction and calls each consumer named
in settings.DOMAIN_EVENT_CONSUMERS, in order. Consumers write outbox rows in
that same transaction (never send anything themselves), so an event and its
consequences commit or roll back together, and a worker delivers them later.
Explicit and listed in one setting, unlike Django signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class DomainEvent:
    # "account.created", "account.renewed", "payment.recorded", ...
    name: str
    reseller_id: int
    livemode: bool
    # Ids and values only (JSON-friendly): consumers load what they need.
    payload: dict[str, Any] = field(default_factory=dict)


Consumer = Callable[[DomainEvent], None]
T = TypeVar("T")

_memo: ContextVar[dict[Any, Any] | None] = ContextVar("publish_memo", default=None)


@dataclass
class _Batches:
    # key -> (the consumer's batch object, what writes it when the block ends), in order.
    open: dict[str, tuple[Any, Callable[[Any], None]]] = field(default_factory=dict)


_batches: ContextVar[_Batches | None] = ContextVar("publish_batches", default=None)


@contextmanager
def publishing_many(*, batched: bool = False) -> Iterator[None]:
    """Around many publishes in one transaction: consumers look each setting up once.

    What `memoized` keeps lives only until the block ends, so use it inside
    the transaction that publishes (a batch of the sweep, one API request). A
    block inside another shares the outer one's memo.

    With `batched`, consumers that can (the email outbox) collect their rows
    in a batch of the block's (see `batch_for`) and write them set-based when
    the block ends without an error, still inside the caller's transaction.
    So a publisher batches its consumers' writes without importing them.
    """
    batches_token = None
    if batched and _batches.get() is None:
        batches_token = _batches.set(_Batches())
    memo_token = _memo.set({}) if _memo.get() is None else None
    try:
        yield
        if batches_token is not None:
            _flush(_batches.get())
    finally:
        if memo_token is not None:
            _memo.reset(memo_token)
        if batches_token is not None:
            _batches.reset(batches_token)


def _flush(batches: _Batches | None) -> None:
    # Each flush runs inside the memo, while the settings it looked up are still there.
    for batch, flush in (batches.open.values() if batches else ()):
        flush(batch)


def batch_for(key: str, make: Callable[[], T], flush: Callable[[T], None]) -> T | None:
    """Inside `publishing_many(batched=True)`: the block's one batch for `key`.

    `make()` builds it the first time; `flush(batch)` writes it when the block
    ends. Outside such a block it returns None: the consumer writes at once.
    """
    batches = _batches.get()
    if batches is None:
        return None
    if key not in batches.open:
        batches.open[key] = (make(), flush)
    batch: T = batches.open[key][0]
    return batch


def remember(key: Any, value: Any) -> None:
    """Inside `publishing_many`, hand consumers an object the publisher holds (see recall).

    The object itself, not a copy: a consumer sees the publisher's later changes.
    """
    memo = _memo.get()
    if memo is not None:
        memo[("remembered", key)] = value


def recall(key: Any) -> Any:
    """What the publisher remembered under `key` in this block, or None."""
    memo = _memo.get()
    return None if memo is None else memo.get(("remembered", key))


def memoized(key: Any, compute: Callable[[], T]) -> T:
    """`compute()`, once per key inside `publishing_many`; every time outside it."""
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    value: T = memo[key]
    return value


@cache
def _consumers(paths: tuple[str, ...]) -> list[Consumer]:
    return [import_string(path) for path in paths]


def publish(event: DomainEvent) -> None:
    for consumer in _consumers(tuple(getattr(settings, "DOMAIN_EVENT_CONSUMERS", ()))):
        consumer(event)
