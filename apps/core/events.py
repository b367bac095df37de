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


@contextmanager
def publishing_many() -> Iterator[None]:
    """Around many publishes in one transaction: consumers look each setting up once.

    What `memoized` keeps lives only until the block ends, so use it inside
    the transaction that publishes (a batch of the sweep, one API request). A
    block inside another shares the outer one's memo.
    """
    if _memo.get() is not None:
        yield
        return
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


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
