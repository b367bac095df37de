from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.models import ReactivationPolicy, Reseller
from apps.core.admin_utils import ReadOnlyAdmin, actor_of, currency_choices, run_service_action
from apps.core.errors import DomainError
from apps.core.forms import MoneyField, MoneyFormMixin
from apps.core.money import money_format

from . import services
from .models import (
    AccountEvent,
    PendingOperation,
    Plan,
    PlanPrice,
    ServiceAccount,
    Subscriber,
    SubscriptionSettings,
)
from .services import settings as lifecycle_settings


def _plan_currencies(plan: Plan | None) -> list[tuple[str, str]]:
    """The plan's reseller's currencies (its base, then those its plans are priced in), then
    the others the panel's resellers use: a short drop-down, not all 160 codes."""
    own: list[str] = []
    if plan is not None:
        own = [plan.reseller.base_currency, *PlanPrice.objects.filter(
            plan__reseller_id=plan.reseller_id).order_by("currency")
            .values_list("currency", flat=True).distinct()]
    panel = sorted({
        *Reseller.objects.values_list("base_currency", flat=True).distinct(),
        *PlanPrice.objects.values_list("currency", flat=True).distinct(),
    })
    return currency_choices(own, panel)


class PlanPriceForm(MoneyFormMixin, forms.ModelForm):
    # Typed as written ("9.00", "9,00") in the row's currency, stored in minor units.
    amount = MoneyField(currency_field="currency", label="Price per period",
                        help_text="As written: 9.00 or 9,00.")

    class Meta:
        model = PlanPrice
        fields = ("currency", "amount")


class PlanPriceInline(admin.TabularInline):
    model = PlanPrice
    form = PlanPriceForm
    extra = 1

    def get_formset(self, request: HttpRequest, obj: Plan | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # A form class of this request's own (modelform_factory makes one per call).
        currency = cast(forms.ChoiceField, formset.form.base_fields["currency"])
        currency.choices = [("", "---------"), *_plan_currencies(obj)]
        return formset


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("name", "reseller", "tier", "duration_months", "credit_cost", "price_list",
                    "is_trial", "status")
    list_filter = ("status", "reseller", "is_trial")
    search_fields = ("name", "tier")
    list_select_related = ("reseller",)
    inlines = [PlanPriceInline]
    actions = ["archive", "unarchive"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        return super().get_queryset(request).prefetch_related("prices")

    @admin.display(description="prices per period")
    def price_list(self, plan: Plan) -> str | None:
        # The reseller's base currency first, then the others by code.
        base = plan.reseller.base_currency
        prices = sorted(plan.prices.all(), key=lambda p: (p.currency != base, p.currency))
        return " · ".join(money_format(p.amount, p.currency) for p in prices) or None

    def get_readonly_fields(self, request: HttpRequest, obj: Plan | None = None) -> Any:
        # The duration is fixed once the plan exists; archiving is an action.
        return ("reseller", "duration_months", "status") if obj else ("status",)

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            if change:
                services.plan_update(
                    actor=actor_of(request), plan=obj, name=data["name"], tier=data["tier"],
                    credit_cost=data["credit_cost"], is_trial=data["is_trial"],
                )
            else:
                created = services.plan_create(
                    actor=actor_of(request), reseller=data["reseller"], name=data["name"],
                    duration_months=data["duration_months"], credit_cost=data["credit_cost"],
                    tier=data["tier"], is_trial=data["is_trial"],
                )
                obj.pk = created.pk
                obj.refresh_from_db()
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        prices = {
            f.cleaned_data["currency"]: f.cleaned_data["amount"]
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        }
        if form.instance.pk:
            try:
                services.plan_update(actor=actor_of(request), plan=form.instance, prices=prices)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
        # The service wrote the prices (and its audit row), not formset.save(): the admin's
        # change message reads these, which only formset.save() would have set.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        # A plan any account has used is archived, never deleted.
        if obj is not None and ServiceAccount.objects.filter(plan=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Plan) -> None:
        services.plan_delete(actor=actor_of(request), plan=obj)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Archive the selected plans")
    def archive(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        run_service_action(self, request, queryset,
                           lambda p: services.plan_archive(actor=actor_of(request), plan=p),
                           "Archived")

    @admin.action(description="Restore the selected plans")
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        run_service_action(
            self, request, queryset,
            lambda p: services.plan_archive(actor=actor_of(request), plan=p, archived=False),
            "Restored",
        )


class SubscriberForm(forms.ModelForm):
    class Meta:
        model = Subscriber
        fields = ("reseller", "name", "email", "phone", "country", "external_id",
                  "marketing_consent", "marketing_consent_source", "livemode")


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = SubscriberForm
    list_display = ("name", "email", "reseller", "external_id", "livemode", "created_at")
    list_filter = ("reseller", "livemode", "marketing_consent")
    search_fields = ("name", "email", "external_id", "phone")
    readonly_fields = ("marketing_consent_at", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Subscriber | None = None) -> Any:
        base = ("marketing_consent_at", "created_at", "updated_at")
        return (*base, "reseller", "livemode") if obj else base

    def save_model(self, request: HttpRequest, obj: Subscriber, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = ("name", "email", "phone", "country", "external_id", "marketing_consent",
                  "marketing_consent_source")
        values = {f: data[f] for f in fields}
        values["external_id"] = values["external_id"] or None
        try:
            if change:
                changed = {f: values[f] for f in fields if f in form.changed_data}
                services.subscriber_update(actor=actor_of(request), subscriber=obj, **changed)
            else:
                created = services.subscriber_create(
                    actor=actor_of(request), reseller=data["reseller"],
                    livemode=data["livemode"], **values,
                )
                obj.pk = created.pk
                obj.refresh_from_db()
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccountEventInline(admin.TabularInline):
    model = AccountEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "old_expires_at",
              "new_expires_at", "credits_moved", "actor_label", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ServiceAccount)
class ServiceAccountAdmin(ReadOnlyAdmin):
    list_display = ("username", "subscriber", "reseller", "plan", "status", "expires_at",
                    "auto_renew", "livemode")
    list_filter = ("status", "livemode", "auto_renew", "reseller")
    search_fields = ("username", "subscriber__name", "subscriber__email")
    list_select_related = ("subscriber", "reseller", "plan")
    exclude = ("password_encrypted",)
    inlines = [AccountEventInline]
    actions = ["renew", "suspend", "unsuspend", "terminate"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Needed for the actions; the page itself shows read-only fields.
        return bool(request.user.is_staff)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [f.name for f in ServiceAccount._meta.fields if f.name != "password_encrypted"]

    @admin.action(description="Renew the selected accounts for their renewal period")
    def renew(self, request: HttpRequest, queryset: QuerySet[ServiceAccount]) -> None:
        run_service_action(self, request, queryset,
                           lambda a: services.account_renew(actor=actor_of(request), account=a),
                           "Renewed (or queued for credits)")

    @admin.action(description="Suspend the selected accounts")
    def suspend(self, request: HttpRequest, queryset: QuerySet[ServiceAccount]) -> None:
        run_service_action(
            self, request, queryset,
            lambda a: services.account_suspend(actor=actor_of(request), account=a,
                                               reason="provider admin"),
            "Suspended",
        )

    @admin.action(description="Unsuspend the selected accounts")
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[ServiceAccount]) -> None:
        run_service_action(
            self, request, queryset,
            lambda a: services.account_unsuspend(actor=actor_of(request), account=a),
            "Unsuspended",
        )

    @admin.action(description="Terminate the selected accounts")
    def terminate(self, request: HttpRequest, queryset: QuerySet[ServiceAccount]) -> None:
        run_service_action(
            self, request, queryset,
            lambda a: services.account_terminate(actor=actor_of(request), account=a,
                                                 reason="provider admin"),
            "Terminated",
        )


@admin.register(PendingOperation)
class PendingOperationAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "reseller", "account", "kind", "months", "credits", "status",
                    "completed_at")
    list_filter = ("status", "kind", "reseller")


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "action", "from_status", "to_status",
                    "credits_moved", "actor_label")
    list_filter = ("action", "reseller")
    search_fields = ("account__username", "reason")


class SubscriptionSettingsForm(forms.ModelForm):
    reminder_offsets = forms.CharField(
        initial="7, 3, 1, 0",
        help_text="Days before expiry, comma-separated, each a whole number from 0 to 60 "
        "(0: on expiry day).",
    )
    reactivation_policy = forms.ChoiceField(choices=ReactivationPolicy.choices)
    timezone = forms.CharField(initial="UTC", help_text="An IANA name, like Europe/Madrid.")

    class Meta:
        model = SubscriptionSettings
        fields = ("reseller", "reminder_offsets", "grace_hours", "termination_after_days",
                  "dunning_reminder_days", "dunning_suspend_days", "dunning_terminate_days",
                  "renewal_lead_days", "credit_floor", "low_credit_recipients")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            self.initial["reminder_offsets"] = ", ".join(str(d) for d in
                                                         instance.reminder_offsets)
            self.initial["reactivation_policy"] = instance.reseller.reactivation_policy
            self.initial["timezone"] = instance.reseller.timezone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = {k: v for k, v in data.items() if k in lifecycle_settings.SETTINGS_FIELDS
                  or k in lifecycle_settings.RESELLER_FIELDS}
        try:
            clean = lifecycle_settings.subscription_settings_validate(values)
        except DomainError as error:
            self.add_error(error.param if error.param in self.fields else None, error.message)
            return data
        data.update(clean)
        if all(k in data for k in ("dunning_reminder_days", "dunning_suspend_days",
                                   "dunning_terminate_days")) and not (
            data["dunning_reminder_days"] <= data["dunning_suspend_days"]
            <= data["dunning_terminate_days"]
        ):
            self.add_error("dunning_suspend_days", "Failed-payment rules go in order: reminder, "
                           "then suspension, then termination.")
        return data

    def _post_clean(self) -> None:
        # The offsets are a list on the model; the form field is text.
        offsets = self.cleaned_data.get("reminder_offsets")
        super()._post_clean()  # type: ignore[misc]
        if isinstance(offsets, list):
            self.instance.reminder_offsets = offsets


@admin.register(SubscriptionSettings)
class SubscriptionSettingsAdmin(admin.ModelAdmin):
    form = SubscriptionSettingsForm
    list_display = ("reseller", "reminder_offsets", "grace_hours", "termination_after_days",
                    "renewal_lead_days", "credit_floor", "credit_floor_alerted")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("reseller",) if obj else ()

    def save_model(self, request: HttpRequest, obj: SubscriptionSettings, form: Any,
                   change: bool) -> None:
        data = form.cleaned_data
        reseller = obj.reseller
        values = {k: data[k] for k in (*lifecycle_settings.SETTINGS_FIELDS, *lifecycle_settings.RESELLER_FIELDS)
                  if k in data}
        try:
            saved = lifecycle_settings.subscription_settings_update(actor=actor_of(request),
                                                           reseller=reseller, **values)
            obj.pk = saved.pk
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
