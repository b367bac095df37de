"""Checks of plain input values that several apps share."""

from __future__ import annotations

from django.conf import settings

from .errors import ValidationError


def whole_number(
    value: object,
    *,
    field: str,
    minimum: int | None = 0,
    maximum: int | None = None,
    code: str = "invalid",
    message: str | None = None,
) -> int:
    """`value` if it is an int (not a bool) from `minimum` to `maximum`; else a ValidationError.

    Services take values as Python gives them (JSON, a form's cleaned data), so
    a float such as 1.0, a numeric string and None are refused rather than
    converted, and so is a bool: True is an int in Python but never a count.
    The error carries `code` and `field` as its param; `message` is what the
    caller's users read (by default, one naming the field and the bounds).
    """
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        raise ValidationError(message or _default_message(field, minimum, maximum),
                              code=code, param=field)
    return value


def _default_message(field: str, minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{field} is a whole number from {minimum} to {maximum}."
    if minimum is not None:
        return f"{field} is a whole number of at least {minimum}."
    if maximum is not None:
        return f"{field} is a whole number of at most {maximum}."
    return f"{field} is a whole number."


def language_code(value: object, *, field: str = "language") -> str:
    """`value` if it is one of settings.LANGUAGES' codes; else a ValidationError naming them."""
    codes = [code for code, _ in settings.LANGUAGES]
    if not isinstance(value, str) or value not in codes:
        raise ValidationError(f"{value!r} is not a language of the panel: one of "
                              f"{', '.join(codes)}.", code="invalid_language", param=field)
    return value


def idempotency_key(value: object, *, max_length: int = 200) -> str:
    """An idempotency key as the ledgers and payments take it: non-blank text, bounded."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("An idempotency key is required.",
                              code="idempotency_key_required", param="idempotency_key")
    if len(value) > max_length:
        raise ValidationError(f"An idempotency key has at most {max_length} characters.",
                              code="invalid", param="idempotency_key")
    return value
