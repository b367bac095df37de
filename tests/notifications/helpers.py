from __future__ import annotations

from typing import Any

from apps.accounts.models import Reseller
from apps.notifications.models import NotificationSettings
from apps.notifications.services import notification_settings_update

from ..conftest import SYSTEM


def use_smtp(reseller: Reseller, port: int, **extra: Any) -> NotificationSettings:
    """Point the reseller's email at the test SMTP server (no TLS: it is local)."""
    return notification_settings_update(
        actor=SYSTEM, reseller=reseller, delivery="smtp", smtp_host="127.0.0.1",
        smtp_port=port, smtp_security="none", sender_email="billing@reseller.example",
        sender_name=reseller.name, **extra,
    )
