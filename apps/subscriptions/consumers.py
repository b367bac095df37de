"""The domain-event consumer of the subscriptions app, listed in settings.DOMAIN_EVENT_CONSUMERS."""

from __future__ import annotations

import datetime as dt

from apps.accounts.models import Reseller
from apps.core.catalogue import CREDITS_ARRIVED
from apps.core.events import DomainEvent

from .services import pending_queue_drain


def on_domain_event(event: DomainEvent) -> None:
    """Credits arrived (a grant, a refund, a positive adjustment): the pending queue drains."""
    if event.name != CREDITS_ARRIVED.name:
        return
    arrived = CREDITS_ARRIVED.read(event)
    reseller = Reseller.objects.get(pk=event.reseller_id)
    pending_queue_drain(reseller=reseller, livemode=event.livemode,
                        now=dt.datetime.fromisoformat(arrived.now))
