"""Helpers shared by the provider's admin pages: every admin write goes through a service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.actors import Actor
from apps.core.currencies import MINOR_UNITS
from apps.core.errors import DomainError
from apps.core.money import money_format


def actor_of(request: HttpRequest) -> Actor:
    return Actor.for_user(request.user, ip=request.META.get("REMOTE_ADDR"))  # type: ignore[arg-type]


class ReadOnlyAdmin(admin.ModelAdmin):
    """For ledgers, events and the audit trail: look, never touch."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def run_service_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, objects: Any, call: Any, verb: str
) -> None:
    """Apply a service to each selected object; report successes and domain errors."""
    done = 0
    for obj in objects:
        try:
            call(obj)
            done += 1
        except DomainError as error:
            modeladmin.message_user(request, f"{obj}: {error.message} ({error.code})",
                                    messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{verb}: {done}.", messages.SUCCESS)


def currency_choices(*groups: Iterable[str]) -> list[tuple[str, str]]:
    """A short currency drop-down: these ISO 4217 codes, each once, in the order given
    (the reseller's own first, say, then the others the panel uses), not all 160."""
    seen: dict[str, None] = {}
    for codes in groups:
        for code in codes:
            if code in MINOR_UNITS:
                seen.setdefault(code)
    return [(code, code) for code in seen]


def money_column(amount: str, currency: str, *, description: str) -> Callable[[Any, Any], str | None]:
    """A list_display column showing `obj.<amount>` (minor units) in `obj.<currency>`, formatted
    for the viewer's language ("€12.50"); sorted by the amount; empty when there is none."""

    @admin.display(description=description, ordering=amount)
    def column(modeladmin: Any, obj: Any) -> str | None:
        value, code = getattr(obj, amount), getattr(obj, currency)
        if value is None or not code:
            return None  # the admin shows its empty value
        return money_format(value, code)

    return column
