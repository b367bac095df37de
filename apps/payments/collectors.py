"""Who collects the subscriber's money when an account auto-renews.

One collector per renewal source (`ServiceAccount.renewal_source`). This
module ships two; more are added to settings.RENEWAL_COLLECTORS as dotted paths,
without touching the sweep (apps.payments.steps calls them): the wallet and the
card collectors of apps.payments.charges are listed there.

- `external`: an outside billing system (WHMCS) renews through the API. The
  sweep collects nothing and renews nothing: the account just runs to its
  expiry unless the system renews it.
- `complimentary`: the reseller renews on its credits alone; nothing is
  charged to the subscriber.

A collector is idempotent under its key: the sweep passes the same key for
the same account and period on every retry, so a retry finds the first charge
instead of making a second. The sweep calls `collect` with no transaction open
and no row locked (a card collector talks to Stripe), and renews afterwards in
a short transaction of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from apps.subscriptions.models import ServiceAccount


@dataclass(frozen=True)
class Collection:
    ok: bool
    # What the subscriber paid, in minor units of `currency` (0: nothing charged).
    amount: int = 0
    currency: str = ""
    error: str = ""
    reference: str = ""
    # The outcome is not known yet (Stripe did not answer, or another worker is charging):
    # neither renewed nor failed; asked again later.
    pending: bool = False
    # The panel's payment that took the money (None for a collector without one).
    payment_id: int | None = None
    # The months the payment paid for (None: the account's renewal period).
    months: int | None = None
    # Where the subscriber fixes what failed (a card to replace, a payment to authenticate).
    action_url: str = ""


class Collector(Protocol):
    # False: the sweep leaves the account to the outside system.
    renews_here: bool

    def collect(self, account: ServiceAccount, *, months: int, idempotency_key: str) -> Collection:
        ...


class ExternalCollector:
    renews_here = False

    def collect(self, account: ServiceAccount, *, months: int, idempotency_key: str) -> Collection:
        return Collection(ok=False, error="Renewed by the external billing system.")


class ComplimentaryCollector:
    renews_here = True

    def collect(self, account: ServiceAccount, *, months: int, idempotency_key: str) -> Collection:
        return Collection(ok=True, reference="complimentary")


DEFAULT_COLLECTORS = {
    "external": "apps.payments.collectors.ExternalCollector",
    "complimentary": "apps.payments.collectors.ComplimentaryCollector",
}


def collector_paths() -> dict[str, str]:
    return {**DEFAULT_COLLECTORS, **getattr(settings, "RENEWAL_COLLECTORS", {})}


@cache
def _load(path: str) -> Collector:
    collector: Collector = import_string(path)()
    return collector


def collector_for(source: str) -> Collector | None:
    path = collector_paths().get(source)
    return _load(path) if path else None


def sources_renewing_here() -> list[str]:
    return [source for source in collector_paths() if getattr(collector_for(source),
                                                               "renews_here", False)]

