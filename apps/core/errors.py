"""Domain errors: every refused operation raises one, with a stable code.

The API and the dashboard turn the code into their own error shape; the code is
the contract, the message is for people.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    # What kind of failure, so that each door can map it to its own status.
    kind = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.param = param

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationError(DomainError):
    """Bad input: a value the operation cannot accept."""

    code = "invalid"


class NotFound(DomainError):
    """The object does not exist, or belongs to another tenant (never say which)."""

    code = "not_found"
    kind = "not_found"


class PermissionDenied(DomainError):
    """The actor belongs to the tenant but its role does not allow the action."""

    code = "permission_denied"
    kind = "permission"


class StateConflict(DomainError):
    """The object's state refuses the operation (a state-machine transition)."""

    code = "invalid_state_transition"
    kind = "conflict"


class InsufficientCredits(DomainError):
    code = "insufficient_credits"
    kind = "conflict"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    kind = "conflict"
