from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.http import HttpRequest

from apps.core.admin_utils import actor_of, currency_choices
from apps.core.currencies import CURRENCY_CHOICES
from apps.core.errors import DomainError

from . import services
from .models import Reseller, StaffMembership, User


class EmailUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class EmailUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "is_active", "is_staff", "is_superuser")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = EmailUserChangeForm
    add_form = EmailUserCreationForm
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Provider access", {"fields": ("is_active", "is_staff", "is_superuser", "groups",
                                        "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),
    )


class StaffMembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 1
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)


class ResellerForm(forms.ModelForm):
    class Meta:
        model = Reseller
        fields = ("name", "slug", "base_currency", "timezone", "language", "country",
                  "contact_email", "reactivation_policy", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A new reseller may bring a new currency, so every code stays; the few the
        # panel's resellers use come first instead of being lost among 160.
        in_use = currency_choices(
            Reseller.objects.order_by("base_currency")
            .values_list("base_currency", flat=True).distinct()
        )
        others = [choice for choice in CURRENCY_CHOICES if choice not in in_use]
        cast(forms.ChoiceField, self.fields["base_currency"]).choices = (
            [("In use", in_use), ("Other currencies", others)] if in_use else CURRENCY_CHOICES
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.reseller_validate(
                base_currency=data.get("base_currency", ""),
                timezone=data.get("timezone", ""),
                country=data.get("country", ""),
                contact_email=data.get("contact_email", ""),
                reactivation_policy=data.get("reactivation_policy", ""),
                # Missing: the form says the field is required.
                language=data.get("language") or None,
            )
        except DomainError as error:
            self.add_error(error.param if error.param in self.fields else None, error.message)
        return data


@admin.register(Reseller)
class ResellerAdmin(admin.ModelAdmin):
    form = ResellerForm
    list_display = ("name", "slug", "base_currency", "credit_balance", "test_credit_balance",
                    "is_active")
    search_fields = ("name", "slug", "contact_email")
    readonly_fields = ("credit_balance", "test_credit_balance", "created_at")
    inlines = [StaffMembershipInline]
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request: HttpRequest, obj: Reseller, form: Any, change: bool) -> None:
        actor = actor_of(request)
        values = {f: form.cleaned_data[f] for f in services.RESELLER_FIELDS}
        try:
            if change:
                changed = {f: v for f, v in values.items() if f in form.changed_data}
                if changed:
                    services.reseller_update(actor=actor, reseller=obj, **changed)
                if "is_active" in form.changed_data:
                    Reseller.objects.filter(pk=obj.pk).update(
                        is_active=form.cleaned_data["is_active"]
                    )
            else:
                created = services.reseller_create(actor=actor, **values)
                obj.pk = created.pk
                obj.refresh_from_db()
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        actor = actor_of(request)
        reseller = form.instance
        for inline_form in formset.forms:
            if not inline_form.has_changed() or not inline_form.cleaned_data:
                continue
            data = inline_form.cleaned_data
            try:
                if data.get("DELETE") and inline_form.instance.pk:
                    services.staff_remove(actor=actor, reseller=reseller,
                                          user=inline_form.instance.user)
                elif not data.get("DELETE"):
                    services.staff_set_role(actor=actor, reseller=reseller, user=data["user"],
                                            role=data["role"])
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
