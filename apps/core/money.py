"""Amounts as people read and write them: minor units in, text out, and back.

An amount is an integer in minor units of an ISO 4217 currency (currencies.py);
these functions are the only place it becomes text. Formatting follows the
viewer's language through Babel (CLDR): the symbol, where it goes and the
separators (`€9.00` in English, `9,00 €` in Spanish), with the currency's ISO
exponent, never a float. Parsing reads what a person types ("9.00", "9,00",
"1.234,56 €") in their language and refuses what would lose or invent money.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, get_currency_symbol
from django.conf import settings
from django.utils import translation

from .currencies import MINOR_UNITS, validate_currency
from .errors import ValidationError

# Django's language codes and the Babel locale each one formats with: Spanish as
# written in Spain ("es" alone is the same in CLDR today, but says nothing).
BABEL_LOCALES = {"en": "en", "es": "es_ES"}

# Far below BigIntegerField's limit, far above any price: a typo, not an amount.
MAX_MINOR = 10**15

# What a person may put between digit groups besides "." and ",".
_GROUP_SPACES = " \u00a0\u202f'\u2019"
_MINUS = "-\u2212"


def babel_locale(language: str | None = None) -> str:
    """The Babel locale for a Django language code (default: the active language)."""
    language = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    if language in BABEL_LOCALES:
        return BABEL_LOCALES[language]
    base = language.split("-")[0]
    try:
        return str(Locale.parse(translation.to_locale(language)))
    except (ValueError, UnknownLocaleError):
        return BABEL_LOCALES.get(base, "en")


def minor_to_decimal(amount: int, currency: str) -> Decimal:
    """9.00 for 900 EUR, 900 for 900 JPY, 1.234 for 1234 KWD: exact, with the exponent's digits."""
    exponent = MINOR_UNITS[validate_currency(currency)]
    return Decimal(amount).scaleb(-exponent)


@lru_cache(maxsize=64)
def _currency_pattern(locale: str, exponent: int) -> NumberPattern:
    # The locale's own currency pattern with the ISO exponent's decimals: CLDR's
    # digits differ from ISO 4217 for a few currencies (HUF, IDR, ...), ours rule.
    pattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (exponent, exponent)
    return pattern


def money_format(amount: int, currency: str, *, language: str | None = None) -> str:
    """The amount as the viewer reads it: `€9.00` (en), `9,00 €` (es), `¥900`, `KWD1.234`."""
    exponent = MINOR_UNITS[validate_currency(currency)]
    locale = babel_locale(language)
    value = Decimal(amount).scaleb(-exponent)
    return str(_currency_pattern(locale, exponent).apply(
        value, locale, currency=currency, currency_digits=False))


def money_input(amount: int, currency: str, *, language: str | None = None) -> str:
    """The amount as a form field shows it for editing: "9.00" (en), "9,00" (es), no symbol.

    No group separators, so that what is shown reads back unchanged.
    """
    exponent = MINOR_UNITS[validate_currency(currency)]
    text = f"{abs(amount) // 10**exponent}"
    if exponent:
        symbol = Locale.parse(babel_locale(language)).number_symbols["latn"]["decimal"]
        text += f"{symbol}{abs(amount) % 10**exponent:0{exponent}d}"
    return f"-{text}" if amount < 0 else text


def money_parse(
    text: object,
    currency: str,
    *,
    language: str | None = None,
    allow_negative: bool = False,
    param: str = "amount",
) -> int:
    """The minor units of an amount a person typed, in their language; a ValidationError if not one.

    Accepts "9.00", "9,00", "9", "1.234,56", "1,234.56", "€9.00" and "9,00 €".
    A lone "." or "," is the decimal separator, unless it is the language's
    group separator followed by exactly three digits ("1,234" in English and
    "1.234" in Spanish are one thousand two hundred and thirty-four).
    Codes: `required`, `invalid_amount` (not a number), `too_many_decimals`,
    `negative_amount`, `amount_too_large`.
    """
    exponent = MINOR_UNITS[validate_currency(currency)]
    locale = babel_locale(language)
    if not isinstance(text, str) or not text.strip():
        raise ValidationError("Enter an amount.", code="required", param=param)
    number = _strip_currency(text.strip(), currency, locale)
    negative = False
    if number[:1] in _MINUS or number[:1] == "+":
        negative = number[:1] in _MINUS
        number = _strip_currency(number[1:].strip(), currency, locale)
    whole, fraction = _split(number, locale)
    if whole is None or fraction is None or not (whole or fraction):
        raise ValidationError(
            f"{text.strip()!r} is not an amount: write it like 9.00 or 9,00.",
            code="invalid_amount", param=param,
        )
    if len(fraction) > exponent:
        raise ValidationError(
            f"{currency} amounts are whole numbers: no decimals." if exponent == 0 else
            f"{currency} amounts have at most {exponent} decimals.",
            code="too_many_decimals", param=param,
        )
    minor = int(whole or "0") * 10**exponent + (int(fraction.ljust(exponent, "0")) if exponent else 0)
    if negative and minor:
        if not allow_negative:
            raise ValidationError("The amount cannot be negative.", code="negative_amount",
                                  param=param)
        minor = -minor
    if abs(minor) >= MAX_MINOR:
        raise ValidationError("The amount is too large.", code="amount_too_large", param=param)
    return minor


def _strip_currency(text: str, currency: str, locale: str) -> str:
    """The text without the currency's code or symbol at either end ("€9.00", "9,00 €")."""
    marks = {currency, get_currency_symbol(currency, locale), get_currency_symbol(currency, "en")}
    for mark in sorted(marks, key=len, reverse=True):
        upper = text.upper()
        if upper.startswith(mark.upper()):
            return text[len(mark):].strip(_GROUP_SPACES)
        if upper.endswith(mark.upper()):
            return text[: len(text) - len(mark)].strip(_GROUP_SPACES)
    return text


_NUMBER = re.compile(rf"[0-9.,{_GROUP_SPACES}]*[0-9][0-9.,{_GROUP_SPACES}]*")
_GROUPS = re.compile(rf"[.,{_GROUP_SPACES}]")


def _decimal_position(number: str, locale: str) -> int | None:
    """Where the decimal separator is (None: a whole number); -1 if the marks cannot be read."""
    marks = [ch for ch in number if ch in ".,"]
    if not marks:
        return None
    last = marks[-1]
    position = number.rindex(last)
    if len(set(marks)) == 2:
        # Both kinds ("1.234,56"): the last is the decimal separator, and appears once.
        return position if marks.count(last) == 1 else -1
    if len(marks) > 1:
        return None  # "1.234.567": only groups
    symbols = Locale.parse(locale).number_symbols["latn"]
    is_group = last == symbols["group"] and last != symbols["decimal"]
    if is_group and re.fullmatch("[0-9]{3}", number[position + 1:]):
        return None  # "1,234" in English, "1.234" in Spanish
    return position


def _split(number: str, locale: str) -> tuple[str | None, str | None]:
    """(whole digits, fraction digits) of a number with separators; (None, None) if it is not one."""
    if not _NUMBER.fullmatch(number):
        return None, None
    at = _decimal_position(number, locale)
    if at == -1:
        return None, None
    whole, fraction = (number, "") if at is None else (number[:at], number[at + 1:])
    if not re.fullmatch("[0-9]*", fraction):
        return None, None
    groups = _GROUPS.split(whole)
    if len(groups) > 1 and not (
        1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
    ):
        return None, None
    return "".join(groups), fraction
