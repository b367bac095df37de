"""Form fields the dashboard's forms share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.core.currencies import MINOR_UNITS
from apps.core.errors import ValidationError as DomainValidationError
from apps.core.money import money_input, money_parse


class MoneyField(forms.Field):
    """An amount typed as people write it ("9.00", "9,00" in the active language) -> minor units.

    Its initial value is minor units, shown as the language writes them (900 EUR:
    "9.00" in English, "9,00" in Spanish); cleaned_data holds an int.
    """

    def __init__(self, *, currency: str, allow_negative: bool = False, **kwargs: Any) -> None:
        self.currency = currency
        self.allow_negative = allow_negative
        exponent = MINOR_UNITS[currency]
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "inputmode": "decimal" if exponent else "numeric", "autocomplete": "off",
            "size": 12}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return money_input(value, self.currency)
        return value

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return money_parse(value, self.currency, allow_negative=self.allow_negative)
        except DomainValidationError as error:
            raise forms.ValidationError(self._message(error), code=error.code) from None

    def _message(self, error: DomainValidationError) -> str:
        exponent = MINOR_UNITS[self.currency]
        if error.code == "too_many_decimals":
            if exponent == 0:
                return _("%(currency)s amounts are whole numbers, without decimals.") % {
                    "currency": self.currency}
            return ngettext(
                "%(currency)s amounts have at most %(count)d decimal.",
                "%(currency)s amounts have at most %(count)d decimals.", exponent,
            ) % {"currency": self.currency, "count": exponent}
        if error.code == "negative_amount":
            return _("The amount cannot be negative.")
        if error.code == "amount_too_large":
            return _("The amount is too large.")
        return _("Write the amount as a number, for example %(example)s.") % {
            "example": money_input(9 * 10**exponent, self.currency)}
