"""The settings page and its forms: reseller, subscription lifecycle, notifications,
email templates, security."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.accounts.permissions import Perm
from apps.accounts.selectors import staff_of
from apps.accounts.services import reseller_update
from apps.api.models import ApiKey, WebhookDelivery, WebhookEndpoint
from apps.core.errors import DomainError
from apps.notifications.models import Event, NotificationSettings, NotificationTemplate
from apps.notifications.rendering import default_template_sources, template_check, template_preview
from apps.notifications.selectors import reseller_settings_get
from apps.notifications.services import (
    delivery_configured,
    notification_settings_for,
    notification_settings_update,
    notification_template_save,
)
from apps.subscriptions.services import subscription_settings_update

from .. import forms
from .. import services as dash_services
from ..access import Context, dashboard_view
from ..models import ResellerSecurity
from ._common import _page


def _subscription_initial(ctx: Context) -> dict[str, Any]:
    config = reseller_settings_get(ctx.reseller, actor=ctx.actor)
    return {
        "reminder_offsets": ", ".join(str(d) for d in config.reminder_offsets),
        "grace_hours": config.grace_hours, "termination_after_days": config.termination_after_days,
        "renewal_lead_days": config.renewal_lead_days,
        "dunning_reminder_days": config.dunning_reminder_days,
        "dunning_suspend_days": config.dunning_suspend_days,
        "dunning_terminate_days": config.dunning_terminate_days,
        "credit_floor": config.credit_floor,
        "low_credit_recipients": ", ".join(config.low_credit_recipients),
    }


def _notification_initial(config: NotificationSettings) -> dict[str, Any]:
    return {
        "enabled_events": [e for e in Event.values if config.event_enabled(e)],
        "sender_name": config.sender_name, "sender_email": config.sender_email,
        "delivery": config.delivery, "smtp_host": config.smtp_host,
        "smtp_port": config.smtp_port, "smtp_username": config.smtp_username,
        "smtp_security": config.smtp_security, "esp_name": config.esp_name,
    }


def _settings_context(ctx: Context, **bound: Any) -> dict[str, Any]:
    reseller = ctx.reseller
    security = ResellerSecurity.objects.filter(reseller=reseller).first()
    memberships = list(staff_of(reseller, actor=ctx.actor).order_by("user__email"))
    with_2fa = set(
        User.objects.filter(pk__in=[m.user_id for m in memberships],
                            totpdevice__confirmed=True).values_list("pk", flat=True)
    )
    note_config = notification_settings_for(reseller.pk)
    overrides = {t.event: t for t in NotificationTemplate.objects.filter(reseller=reseller)}
    context: dict[str, Any] = {
        "staff": [(m, m.user_id in with_2fa) for m in memberships],
        "invite_form": bound.get("invite_form") or forms.InviteForm(),
        "security_form": forms.SecurityForm(
            initial={"require_2fa": bool(security and security.require_2fa)}),
        "reseller_form": bound.get("reseller_form") or forms.ResellerSettingsForm(initial={
            "timezone": reseller.timezone, "contact_email": reseller.contact_email,
            "reactivation_policy": reseller.reactivation_policy}),
        "subscription_form": bound.get("subscription_form") or forms.SubscriptionSettingsForm(
            initial=_subscription_initial(ctx)),
        "notification_form": bound.get("notification_form") or forms.NotificationSettingsForm(
            initial=_notification_initial(note_config)),
        "smtp_password_set": bool(note_config.smtp_password_encrypted),
        "esp_api_key_set": bool(note_config.esp_api_key_encrypted),
        "template_form": bound.get("template_form") or forms.TemplateForm(),
        "template_preview": bound.get("template_preview"),
        "overrides": sorted(overrides.values(), key=lambda t: t.event),
        "test_email_form": bound.get("test_email_form") or forms.TestEmailForm(
            initial={"to": ctx.user.email}),
        "roles": forms.InviteForm.base_fields["role"].choices,  # type: ignore[attr-defined]
        "email_ok": delivery_configured(note_config),
    }
    if ctx.can(Perm.API_KEYS_MANAGE):
        context.update(
            api_keys=list(ApiKey.objects.filter(reseller=reseller).order_by("-created_at")[:100]),
            endpoints=list(WebhookEndpoint.objects.filter(reseller=reseller, deleted_at=None)
                           .order_by("-created_at")[:50]),
            deliveries=list(WebhookDelivery.objects.filter(reseller=reseller)
                            .select_related("endpoint").order_by("-id")[:30]),
            api_key_form=bound.get("api_key_form") or forms.ApiKeyForm(),
            webhook_form=bound.get("webhook_form") or forms.WebhookForm(),
            shown_once=bound.get("shown_once"),
        )
    return context


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _page(request, ctx, "dashboard/settings.html", **_settings_context(ctx))


def _settings_error(request: HttpRequest, ctx: Context, **bound: Any) -> HttpResponse:
    response = _page(request, ctx, "dashboard/settings.html", **_settings_context(ctx, **bound))
    response.status_code = 400
    return response


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_reseller_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.ResellerSettingsForm(request.POST)
    if form.is_valid():
        try:
            reseller_update(actor=ctx.actor, reseller=ctx.reseller, **form.cleaned_data)
            messages.success(request, _("Settings saved."))
            return redirect("dashboard:settings")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, reseller_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_test_email_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.TestEmailForm(request.POST)
    if not form.is_valid():
        return _settings_error(request, ctx, test_email_form=form)
    try:
        result = dash_services.test_email_send(actor=ctx.actor, reseller=ctx.reseller,
                                               to=form.cleaned_data["to"])
    except DomainError as error:
        forms.attach_error(form, error)
        return _settings_error(request, ctx, test_email_form=form)
    if result.ok:
        messages.success(request, _("Test email sent to %(to)s.") % {"to": form.cleaned_data["to"]})
    else:
        messages.error(request, _("The test email was not sent: %(error)s")
                       % {"error": result.message})
    return redirect(reverse("dashboard:settings") + "#notifications")


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_subscription_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.SubscriptionSettingsForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        try:
            subscription_settings_update(actor=ctx.actor, reseller=ctx.reseller, **data)
            messages.success(request, _("Subscription settings saved."))
            return redirect(reverse("dashboard:settings") + "#subscription")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, subscription_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_notifications_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    form = forms.NotificationSettingsForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        enabled = set(data.pop("enabled_events"))
        data["disabled_events"] = [e for e in Event.values if e != Event.TEST and e not in enabled]
        password = data.pop("smtp_password") or None
        api_key = data.pop("esp_api_key") or None
        try:
            notification_settings_update(actor=ctx.actor, reseller=ctx.reseller,
                                         smtp_password=password, esp_api_key=api_key, **data)
            messages.success(request, _("Notification settings saved."))
            return redirect(reverse("dashboard:settings") + "#notifications")
        except DomainError as error:
            forms.attach_error(form, error)
    return _settings_error(request, ctx, notification_form=form)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Preview (nothing saved) or save a template; one that does not render is refused."""
    form = forms.TemplateForm(request.POST)
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            if request.POST.get("action") == "save":
                notification_template_save(actor=ctx.actor, reseller=ctx.reseller, **data)
                messages.success(request, _("Email template saved."))
                return redirect(reverse("dashboard:settings") + "#templates")
            preview = template_check(**data)
        except DomainError as error:
            forms.attach_error(form, error)
    response = _page(request, ctx, "dashboard/settings.html",
                     **_settings_context(ctx, template_form=form, template_preview=preview))
    if form.errors:
        response.status_code = 400
    return response


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_default_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Load an event's current email (the reseller's own or the default) into the form."""
    event = request.GET.get("event", "")
    if event not in Event.values:
        raise Http404
    override = NotificationTemplate.objects.filter(reseller=ctx.reseller, event=event).first()
    if override is not None:
        initial = {"event": event, "subject": override.subject, "text": override.text,
                   "html": override.html}
    else:
        subject, text = default_template_sources(event)
        initial = {"event": event, "subject": subject, "text": text, "html": ""}
    return _page(request, ctx, "dashboard/settings.html", **_settings_context(
        ctx, template_form=forms.TemplateForm(initial=initial),
        template_preview=template_preview(ctx.reseller.pk, event)))


@require_POST
@dashboard_view(Perm.SECURITY_MANAGE)
def settings_security_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    dash_services.security_set_require_2fa(actor=ctx.actor, reseller=ctx.reseller,
                                           required=request.POST.get("require_2fa") == "on")
    messages.success(request, _("Security settings saved."))
    return redirect("dashboard:settings")
