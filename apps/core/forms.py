"""Form fields every app's forms share (the dashboard's and the provider's admin).

An amount is typed as people write it ("9.00", "9,00" in the active language)
and cleaned to integer minor units by money.money_parse: the one parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .currencies import MINOR_UNITS
from .errors import ValidationError as DomainValidationError
from .money import money_input, money_parse


class MoneyField(forms.Field):
    """An amount typed as people write it -> minor units (an int in cleaned_data).

    Its currency is either fixed (`currency="EUR"`) or read from another field of
    the same form (`currency_field="price_currency"`, a row's own currency): then
    the form must be a MoneyFormMixin, which parses the amount in clean() once the
    currency is known. Its initial value is minor units, shown as the language
    writes them (900 EUR: "9.00" in English, "9,00" in Spanish).
    """

    def __init__(self, *, currency: str | None = None, currency_field: str | None = None,
                 allow_negative: bool = False, **kwargs: Any) -> None:
        if (currency is None) == (currency_field is None):
            raise TypeError("MoneyField takes either currency or currency_field.")
        self.currency = currency
        self.currency_field = currency_field
        self.allow_negative = allow_negative
        exponent = MINOR_UNITS[currency] if currency else 2
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "inputmode": "decimal" if exponent else "numeric", "autocomplete": "off",
            "size": 12}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool) and self.currency:
            return money_input(value, self.currency)
        return value

    def to_python(self, value: Any) -> int | str | None:
        if value in self.empty_values or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if self.currency_field is not None:
            return str(value).strip()  # parsed by MoneyFormMixin.clean, with the row's currency
        return self.parse(value, self.currency or "")

    def parse(self, value: Any, currency: str) -> int:
        """The minor units of `value` in `currency`; a form error with a message if not."""
        try:
            return money_parse(value, currency, allow_negative=self.allow_negative)
        except DomainValidationError as error:
            raise forms.ValidationError(money_error_message(error, currency),
                                        code=error.code) from None

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.disabled:
            return False
        if data in self.empty_values or (isinstance(data, str) and not data.strip()):
            return initial not in self.empty_values
        if not self.currency:
            return True
        try:
            return self.parse(data, self.currency) != initial
        except forms.ValidationError:
            return True


def money_error_message(error: DomainValidationError, currency: str) -> str:
    """money_parse's error as a form says it, in the active language."""
    exponent = MINOR_UNITS[currency]
    if error.code == "too_many_decimals":
        if exponent == 0:
            return _("%(currency)s amounts are whole numbers, without decimals.") % {
                "currency": currency}
        return ngettext(
            "%(currency)s amounts have at most %(count)d decimal.",
            "%(currency)s amounts have at most %(count)d decimals.", exponent,
        ) % {"currency": currency, "count": exponent}
    if error.code == "negative_amount":
        return _("The amount cannot be negative.")
    if error.code == "amount_too_large":
        return _("The amount is too large.")
    return _("Write the amount as a number, for example %(example)s.") % {
        "example": money_input(9 * 10**exponent, currency)}


# The mixin goes before a form class; type-checked as one.
if TYPE_CHECKING:
    _FormBase = forms.BaseForm
else:
    _FormBase = object


class MoneyFormMixin(_FormBase):
    """For forms whose MoneyFields take their currency from another field (a row's own).

    Put it before forms.Form / forms.ModelForm. The initial amounts show in the
    initial currency; clean() parses each amount in the currency submitted with it,
    so an amount is never read in one currency and stored in another.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for _name, field in self._row_currency_fields():
            # Each form has its own copy of its fields: the row's currency shows its amount.
            initial_currency = self.initial.get(field.currency_field or "")
            field.currency = initial_currency if initial_currency in MINOR_UNITS else None

    def _row_currency_fields(self) -> list[tuple[str, MoneyField]]:
        return [(name, field) for name, field in self.fields.items()
                if isinstance(field, MoneyField) and field.currency_field]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for name, field in self._row_currency_fields():
            value = data.get(name)
            if not isinstance(value, str):
                continue  # empty, already minor units, or an error of its own
            currency_field = field.currency_field or ""
            currency = data.get(currency_field) or ""
            if currency_field in self.errors:
                del data[name]  # the currency's own error says what to fix
            elif currency not in MINOR_UNITS:
                self.add_error(currency_field, _("Choose the currency of this amount."))
                del data[name]
            else:
                try:
                    data[name] = field.parse(value, currency)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return data
