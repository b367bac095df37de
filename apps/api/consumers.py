"""The domain-event consumer listed in settings.DOMAIN_EVENT_CONSUMERS."""

from apps.api.services import webhook_consume

__all__ = ["webhook_consume"]
