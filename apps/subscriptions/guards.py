"""Checks other apps add to the account's financial operations.

A financial operation (renew, change plan; a refund in apps.payments) may not
start while a payment for the account is in flight, as BILLmanager refuses
operations on a service in Processing. The payments app knows which payments
are in flight; this app must not import it, so payments registers its check
here (its AppConfig.ready) and the account services call `check_no_payment_in_flight`
with the account row locked.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.core.errors import StateConflict

from .models import ServiceAccount

_IN_FLIGHT_CHECKS: list[Callable[[ServiceAccount], bool]] = []


def register_in_flight_check(check: Callable[[ServiceAccount], bool]) -> None:
    if check not in _IN_FLIGHT_CHECKS:
        _IN_FLIGHT_CHECKS.append(check)


def payment_in_flight(account: ServiceAccount) -> bool:
    return any(check(account) for check in _IN_FLIGHT_CHECKS)


def check_no_payment_in_flight(account: ServiceAccount) -> None:
    if payment_in_flight(account):
        raise StateConflict(
            "A payment for this account is in progress; try again when it has finished.",
            code="payment_in_progress", param="account",
        )
