"""The account state machine of DESIGN.md, as data.

    pending --activate--> active --expire--> grace --suspend--> suspended --terminate--> terminated
                            ^ <---renew------------+------------------+
                            ^ <---unsuspend (still within its period)-+

Every service that changes an account asks `check` first; a refused
transition raises `invalid_state_transition` and changes nothing.
"""

from __future__ import annotations

from apps.core.errors import StateConflict

from .models import AccountStatus as S

LIVE = frozenset({S.ACTIVE, S.GRACE, S.SUSPENDED})
NOT_TERMINATED = frozenset({S.PENDING, S.ACTIVE, S.GRACE, S.SUSPENDED})

# action: (the statuses it may start from, the status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "activate": (frozenset({S.PENDING}), S.ACTIVE),
    "renew": (LIVE, S.ACTIVE),
    "expire": (frozenset({S.ACTIVE}), S.GRACE),
    "suspend": (frozenset({S.ACTIVE, S.GRACE}), S.SUSPENDED),
    "unsuspend": (frozenset({S.SUSPENDED}), S.ACTIVE),
    "terminate": (NOT_TERMINATED, S.TERMINATED),
    "change_plan_now": (frozenset({S.ACTIVE}), None),
    "change_plan_at_renewal": (LIVE, None),
    "set_auto_renew": (NOT_TERMINATED, None),
    "reset_password": (NOT_TERMINATED, None),
}


def allowed(action: str, status: str) -> bool:
    sources, _ = TRANSITIONS[action]
    return status in sources


def check(action: str, status: str) -> str:
    """The status after `action` from `status`; raises StateConflict if refused."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise StateConflict(
            f"An account that is {status} cannot {action.replace('_', ' ')}.",
            code="invalid_state_transition",
            param="status",
        )
    return target or status
