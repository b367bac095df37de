"""Domain events: what happened, told to the parts that react (emails, webhooks).

`publish` runs inside the caller's transaction and calls each consumer named
in settings.DOMAIN_EVENT_CONSUMERS, in order. Consumers write outbox rows in
that same transaction (never send anything themselves), so an event and its
consequences commit or roll back together, and a worker delivers them later.
Explicit and listed in one setting, unlike Django signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

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


@cache
def _consumers(paths: tuple[str, ...]) -> list[Consumer]:
    return [import_string(path) for path in paths]


def publish(event: DomainEvent) -> None:
    for consumer in _consumers(tuple(getattr(settings, "DOMAIN_EVENT_CONSUMERS", ()))):
        consumer(event)
