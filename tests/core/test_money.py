"""Amounts as people read and type them: Babel's formatting, with each currency's ISO exponent."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.errors import ValidationError
from apps.core.money import (
    babel_locale,
    minor_to_decimal,
    money_format,
    money_input,
    money_parse,
)

NBSP = "\u00a0"

# One currency per exponent: 0 (JPY), 2 (EUR, USD), 3 (KWD, BHD).
CURRENCIES = ["JPY", "EUR", "USD", "KWD", "BHD"]
LANGUAGES = ["en", "es"]


@pytest.mark.parametrize(("amount", "currency", "language", "shown"), [
    (900, "EUR", "en", "€9.00"),
    (900, "EUR", "es", f"9,00{NBSP}€"),
    (1000, "USD", "en", "$10.00"),
    (1000, "USD", "es", f"10,00{NBSP}US$"),
    (900, "JPY", "en", "¥900"),
    (900, "JPY", "es", f"900{NBSP}JPY"),
    (1234, "KWD", "en", "KWD1.234"),
    (1234, "KWD", "es", f"1,234{NBSP}KWD"),
    (5, "BHD", "en", "BHD0.005"),
    (123456789, "EUR", "en", "€1,234,567.89"),
    (123456789, "EUR", "es", f"1.234.567,89{NBSP}€"),
    (-550, "EUR", "en", "-€5.50"),
    (0, "EUR", "en", "€0.00"),
])
def test_an_amount_is_formatted_for_the_language_with_the_currency_exponent(
    amount, currency, language, shown
):
    assert money_format(amount, currency, language=language) == shown


def test_the_iso_exponent_wins_over_babels_own_digits_for_the_currency():
    # CLDR shows HUF without decimals; ISO 4217 (and Stripe) count it in hundredths.
    assert money_format(12345, "HUF", language="en").endswith("123.45")


def test_formatting_uses_the_active_language_when_none_is_given():
    with translation.override("es"):
        assert money_format(900, "EUR") == f"9,00{NBSP}€"
    with translation.override("en"):
        assert money_format(900, "EUR") == "€9.00"


def test_an_unknown_currency_is_refused_by_its_code():
    with pytest.raises(ValidationError) as caught:
        money_format(900, "XXX")
    assert caught.value.code == "invalid_currency"


@pytest.mark.parametrize(("language", "locale"), [
    ("en", "en"), ("es", "es_ES"), ("es-mx", "es_MX"), ("en-us", "en_US"), ("xx", "en"),
])
def test_django_language_codes_map_to_babel_locales(language, locale):
    assert babel_locale(language) == locale


def test_minor_units_become_an_exact_decimal_with_the_exponents_digits():
    assert str(minor_to_decimal(900, "EUR")) == "9.00"
    assert str(minor_to_decimal(900, "JPY")) == "900"
    assert str(minor_to_decimal(1234, "KWD")) == "1.234"


@pytest.mark.parametrize(("language", "text", "currency", "minor"), [
    ("en", "9.00", "EUR", 900),
    ("en", "9,00", "EUR", 900),
    ("en", "9", "EUR", 900),
    ("es", "9,00", "EUR", 900),
    ("es", "9.00", "EUR", 900),
    ("es", "9", "EUR", 900),
    ("en", "9.5", "EUR", 950),
    ("en", " 9.00 ", "EUR", 900),
    ("en", "1,234.56", "EUR", 123456),
    ("es", "1.234,56", "EUR", 123456),
    ("es", f"1.234.567,89{NBSP}€", "EUR", 123456789),
    # A lone group separator before three digits groups, as the language reads it.
    ("en", "1,234", "EUR", 123400),
    ("es", "1.234", "EUR", 123400),
    ("en", "€9.00", "EUR", 900),
    ("es", "9,00 €", "EUR", 900),
    ("en", "9.00 EUR", "EUR", 900),
    ("en", "$10", "USD", 1000),
    ("es", "10 US$", "USD", 1000),
    ("en", "900", "JPY", 900),
    ("en", "¥1,000", "JPY", 1000),
    ("en", "1.234", "KWD", 1234),
    ("es", "1,234", "KWD", 1234),
    ("en", "0.5", "KWD", 500),
    ("en", "0", "EUR", 0),
])
def test_an_amount_as_people_write_it_becomes_minor_units(language, text, currency, minor):
    assert money_parse(text, currency, language=language) == minor


@pytest.mark.parametrize(("language", "text", "currency", "code"), [
    ("en", "", "EUR", "required"),
    ("en", "   ", "EUR", "required"),
    ("en", "9.001", "EUR", "too_many_decimals"),
    ("es", "9,001", "EUR", "too_many_decimals"),
    ("en", "900.5", "JPY", "too_many_decimals"),
    ("es", "1,2345", "KWD", "too_many_decimals"),
    ("en", "-9.00", "EUR", "negative_amount"),
    ("en", "abc", "EUR", "invalid_amount"),
    ("en", "9e2", "EUR", "invalid_amount"),
    ("en", "1,2,3", "EUR", "invalid_amount"),
    ("en", "1.234.5,6,7", "EUR", "invalid_amount"),
    ("en", ".", "EUR", "invalid_amount"),
    ("en", "--9", "EUR", "invalid_amount"),
    ("en", "9,0 0", "EUR", "invalid_amount"),
    ("en", "$10", "EUR", "invalid_amount"),
    ("en", "٣", "EUR", "invalid_amount"),
    ("en", "99999999999999999", "EUR", "amount_too_large"),
])
def test_what_is_not_an_amount_is_refused_with_its_code(language, text, currency, code):
    with pytest.raises(ValidationError) as caught:
        money_parse(text, currency, language=language, param="price")
    assert caught.value.code == code
    assert caught.value.param == "price"


def test_too_many_decimals_names_the_currency_and_its_exponent():
    with pytest.raises(ValidationError, match="EUR amounts have at most 2 decimals"):
        money_parse("9.001", "EUR", language="en")
    with pytest.raises(ValidationError, match="JPY amounts are whole numbers"):
        money_parse("9.5", "JPY", language="en")


def test_a_negative_amount_is_read_where_the_caller_allows_it():
    assert money_parse("-9.00", "EUR", language="en", allow_negative=True) == -900
    assert money_parse("-€9.00", "EUR", language="en", allow_negative=True) == -900
    assert money_parse(f"-9,00{NBSP}€", "EUR", language="es", allow_negative=True) == -900


def test_a_value_that_is_not_text_is_refused():
    with pytest.raises(ValidationError):
        money_parse(9.0, "EUR", language="en")


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(min_value=0, max_value=10**12), currency=st.sampled_from(CURRENCIES),
       language=st.sampled_from(LANGUAGES))
def test_what_a_field_shows_reads_back_as_the_same_minor_units(amount, currency, language):
    shown = money_input(amount, currency, language=language)
    assert money_parse(shown, currency, language=language) == amount


@settings(max_examples=50, deadline=None)
@given(amount=st.integers(min_value=-(10**12), max_value=10**12),
       currency=st.sampled_from(CURRENCIES), language=st.sampled_from(LANGUAGES))
def test_a_formatted_amount_reads_back_as_the_same_minor_units(amount, currency, language):
    shown = money_format(amount, currency, language=language)
    assert money_parse(shown, currency, language=language, allow_negative=True) == amount
