"""Who does something: a staff user, an API key, or the system itself.

Every service takes an Actor; the permission check and the audit trail both
read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from apps.accounts.models import User

ActorKind = Literal["user", "api_key", "system"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    label: str
    user: User | None = None
    api_key_id: int | None = None
    # The reseller an API key belongs to: a key never acts for another one.
    api_key_reseller_id: int | None = None
    ip: str | None = None

    def row_fields(self) -> dict[str, object]:
        """The actor columns every ledger, event and audit row carries."""
        return {
            "actor_type": self.kind,
            "actor_user": self.user,
            "actor_api_key_id": self.api_key_id,
            "actor_label": self.label,
        }

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def for_user(cls, user: User, *, ip: str | None = None) -> Actor:
        return cls(kind="user", label=user.email, user=user, ip=ip)

    @classmethod
    def for_api_key(
        cls, *, key_id: int, prefix: str, reseller_id: int, ip: str | None = None
    ) -> Actor:
        return cls(
            kind="api_key",
            label=f"api_key:{prefix}",
            api_key_id=key_id,
            api_key_reseller_id=reseller_id,
            ip=ip,
        )
