"""Form fields the dashboard's forms share: the core's, which the provider's admin uses too."""

from __future__ import annotations

from apps.core.forms import MoneyField, MoneyFormMixin, money_error_message

__all__ = ["MoneyField", "MoneyFormMixin", "money_error_message"]
