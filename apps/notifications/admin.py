"""Provider admin for notification settings, templates and the outbox. Writes go through services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.core.admin_utils import ReadOnlyAdmin, actor_of
from apps.core.errors import DomainError

from . import services
from .models import Event, NotificationSettings, NotificationTemplate, OutboxMessage
from .rendering import COMMON_CONTEXT, CONTEXT_DOCS, template_check, template_preview


def _add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    field = error.param if error.param in form.fields else None
    form.add_error(field, error.message)


class NotificationSettingsForm(forms.ModelForm):
    disabled_events = forms.MultipleChoiceField(
        choices=Event.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Events that send no email.",
    )
    smtp_password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current one.",
    )
    esp_api_key = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current one.",
    )

    class Meta:
        model = NotificationSettings
        fields = ("reseller", "disabled_events", "sender_name", "sender_email", "delivery",
                  "smtp_host", "smtp_port", "smtp_username", "smtp_security", "esp_name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = {f: data.get(f) for f in services.SETTINGS_FIELDS if f in data}
        values["disabled_events"] = list(data.get("disabled_events") or [])
        try:
            services.notification_settings_validate(values)
        except DomainError as error:
            _add_domain_error(self, error)
        return data


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    form = NotificationSettingsForm
    list_display = ("reseller", "delivery", "sender_email", "smtp_host", "esp_name", "updated_at")
    list_filter = ("delivery",)
    actions = ["send_test"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("reseller",) if obj else ()

    def save_model(self, request: HttpRequest, obj: NotificationSettings, form: Any,
                   change: bool) -> None:
        data = form.cleaned_data
        reseller = obj.reseller
        values = {f: data[f] for f in services.SETTINGS_FIELDS if f in data}
        values["disabled_events"] = list(data.get("disabled_events") or [])
        try:
            saved = services.notification_settings_update(
                actor=actor_of(request), reseller=reseller,
                smtp_password=data.get("smtp_password") or None,
                esp_api_key=data.get("esp_api_key") or None, **values,
            )
            obj.pk = saved.pk
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)

    @admin.action(description="Send a test email to the reseller's contact address")
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationSettings]) -> None:
        for config in queryset.select_related("reseller"):
            result = services.send_test_email(actor=actor_of(request), reseller=config.reseller,
                                              to=config.reseller.contact_email)
            self.message_user(request, f"{config.reseller}: {result.message}",
                              messages.SUCCESS if result.ok else messages.ERROR)


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ("reseller", "event", "language", "subject", "text", "html")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left out: the reseller's language (notification_template_save).
        self.fields["language"].required = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("event") and data.get("subject") is not None and data.get("text") is not None:
            try:
                template_check(event=data["event"], subject=data["subject"], text=data["text"],
                               html=data.get("html") or "",
                               language=data.get("language") or data["reseller"].language
                               if data.get("reseller") else "en")
            except DomainError as error:
                _add_domain_error(self, error)
        return data


def _context_help() -> str:
    lines = [f"{name}: {text}" for name, text in COMMON_CONTEXT.items()]
    for event, names in CONTEXT_DOCS.items():
        for name, text in names.items():
            lines.append(f"{name} ({event}): {text}")
    return "; ".join(lines)


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ("reseller", "event", "language", "subject", "updated_at")
    list_filter = ("event", "language")
    readonly_fields = ("context", "preview")

    @admin.display(description="Template context")
    def context(self, obj: NotificationTemplate) -> str:
        return _context_help()

    @admin.display(description="Preview (sample values)")
    def preview(self, obj: NotificationTemplate) -> str:
        if not obj.pk:
            return "Save to see a preview."
        rendered = template_preview(obj.reseller_id, obj.event, obj.language)
        return format_html("<strong>{}</strong><pre>{}</pre>", rendered.subject, rendered.text)

    def save_model(self, request: HttpRequest, obj: NotificationTemplate, form: Any,
                   change: bool) -> None:
        data = form.cleaned_data
        saved = services.notification_template_save(
            actor=actor_of(request), reseller=data["reseller"], event=data["event"],
            subject=data["subject"], text=data["text"], html=data.get("html") or "",
            language=data.get("language") or None,
        )
        obj.pk = saved.pk


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "reseller", "event", "language", "recipient", "status",
                    "attempts", "sent_at", "provider_message_id", "livemode", "discarded_by",
                    "discarded_at")
    list_filter = ("status", "event", "language", "livemode", "reseller")
    search_fields = ("recipient", "subject", "provider_message_id")
    exclude = ("text_encrypted", "html_encrypted")
