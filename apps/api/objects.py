"""The API's Account object, defined once.

The list, the detail, every account action and the webhook payloads build it here, so a
client meets one shape, timestamps included, wherever it sees an account.
`serializers.AccountOut` documents it for the schema (tests hold the two equal).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.core import crypto
from apps.payments.models import Payment, Refund, Wallet
from apps.subscriptions.models import ServiceAccount

# The Account object, field by field: (its name, the model attribute it reads, whether it
# is a timestamp). account_object builds it from an instance; account_json_sql has
# PostgreSQL write the same JSON for the list (see there why).
ACCOUNT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("id", "id", False),
    ("status", "status", False),
    ("pending_reason", "pending_reason", False),
    ("username", "username", False),
    ("plan", "plan_id", False),
    ("subscriber", "subscriber_id", False),
    ("starts_at", "starts_at", True),
    ("expires_at", "expires_at", True),
    ("auto_renew", "auto_renew", False),
    ("renewal_source", "renewal_source", False),
    ("renewal_period_months", "renewal_period_months", False),
    ("currency", "currency", False),
    ("livemode", "livemode", False),
)
# The model columns it reads, for `.only()` on lists.
ACCOUNT_COLUMNS = tuple(attribute for _, attribute, _ in ACCOUNT_FIELDS)


def timestamp(value: dt.datetime | None) -> str | None:
    """DRF's DateTimeField format: ISO 8601 in UTC with "Z", microseconds when there are some.

    Written here rather than left to a JSON encoder: DjangoJSONEncoder (the webhook
    payload's) cuts microseconds to milliseconds.
    """
    if value is None:
        return None
    text = timezone.localtime(value, dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def account_object(account: ServiceAccount) -> dict[str, Any]:
    """The Account object: no credentials. Built by hand, not by a serializer: lists are hot."""
    return {name: timestamp(getattr(account, attribute)) if is_time else getattr(account, attribute)
            for name, attribute, is_time in ACCOUNT_FIELDS}


def _timestamp_sql(column: str) -> str:
    """timestamp() in SQL: ISO 8601 in UTC with "Z", microseconds only when there are some
    (NULL stays NULL). The %% are for a statement run with parameters."""
    utc = f'("{column}" AT TIME ZONE \'UTC\')'
    return (f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"extract(microseconds FROM {utc})::bigint %% 1000000 = 0 THEN '' "
            f"ELSE to_char({utc}, '.US') END || 'Z'")


def account_json_sql() -> str:
    """The Account object as a PostgreSQL expression over a service-account row (json).

    Kept for the account list alone, where it was measured: bench/account_list.py, one
    page of 50 rows out of 100,000 built in 0.74-0.79 ms this way against 2.6-3.4 ms by
    the ORM and account_object, in a request of 2.0-2.9 ms in all (three runs).
    Tests hold it equal to account_object.
    """
    pairs = ", ".join(
        f"'{name}', " + (_timestamp_sql(attribute) if is_time else f'"{attribute}"')
        for name, attribute, is_time in ACCOUNT_FIELDS
    )
    return f"json_build_object({pairs})"


def account_with_credentials(account: ServiceAccount, *,
                             password: str | None = None) -> dict[str, Any]:
    """The Account object and its password, for the operations that hand credentials over
    (create, retrieve, renew, reset-password); `password` when the caller has it in clear."""
    return {**account_object(account), "password": password if password is not None
            else crypto.decrypt(account.password_encrypted)}


# ---------------------------------------------------------------- payments


def refund_object(refund: Refund) -> dict[str, Any]:
    """The Refund object: on its own (a refund made) and in its payment's `refunds`."""
    return {"id": refund.pk, "object": "refund", "payment": refund.payment_id,
            "amount": refund.amount, "currency": refund.currency,
            "destination": refund.destination, "state": refund.state,
            "reason": refund.reason, "shorten": refund.shortened_account,
            "created": timestamp(refund.created_at), "livemode": refund.livemode}


def payment_object(payment: Payment) -> dict[str, Any]:
    """The Payment object. Reads `payment_method` and `refunds`: select and prefetch them
    (apps.payments.selectors.payment_list and payment_get select the card)."""
    card = payment.payment_method
    has_error = bool(payment.error_code or payment.decline_code or payment.error_message)
    return {
        "id": payment.pk, "object": "payment", "subscriber": payment.subscriber_id,
        "account": payment.account_id, "source": payment.source, "purpose": payment.purpose,
        "state": payment.state, "amount": payment.amount, "currency": payment.currency,
        "refunded_amount": payment.refunded_amount, "reference": payment.reference,
        "created": timestamp(payment.created_at), "paid_at": timestamp(payment.paid_at),
        "livemode": payment.livemode,
        "card": {"brand": card.brand, "last4": card.last4} if card is not None else None,
        "error": {"code": payment.error_code, "decline_code": payment.decline_code,
                  "message": payment.error_message} if has_error else None,
        # Oldest first, as they were made (sorted here: the prefetch keeps the model's order).
        "refunds": [refund_object(refund) for refund in
                    sorted(payment.refunds.all(), key=lambda refund: refund.pk)],
    }


def wallet_object(wallets: list[Wallet], *, livemode: bool) -> dict[str, Any]:
    """A subscriber's wallet: one balance per currency it ever held, by currency."""
    return {"balances": [{"currency": wallet.currency, "amount": wallet.balance}
                         for wallet in wallets], "livemode": livemode}
