"""The wallet ledger's services: being built on the `wallet` branch; this module names them."""

from __future__ import annotations

from typing import Any

from apps.core.errors import DomainError


class InsufficientWalletBalance(DomainError):
    status = 409
    code = "insufficient_wallet_balance"


def wallet_credit(**kwargs: Any) -> Any:
    raise NotImplementedError("wallet_credit comes with the wallet ledger")


def wallet_debit(**kwargs: Any) -> Any:
    raise NotImplementedError("wallet_debit comes with the wallet ledger")
