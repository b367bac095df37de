"""Amounts in templates, in the active language: `{{ amount|money:currency }}`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from django import template

from apps.core.money import money_format

register = template.Library()


class _Price(Protocol):
    amount: int
    currency: str


@register.filter
def money(amount: int | None, currency: str) -> str:
    """900, "EUR" -> "€9.00" in English, "9,00 €" in Spanish; "" for no amount."""
    if amount is None or not currency:
        return ""
    return money_format(amount, currency)


@register.filter
def price_list(prices: Iterable[_Price], base_currency: str = "") -> str:
    """A plan's prices, formatted, the base currency first: "€9.00 · $10.00"."""
    ordered = sorted(prices, key=lambda p: (p.currency != base_currency, p.currency))
    return " · ".join(money_format(p.amount, p.currency) for p in ordered)
