"""The settings pages: one tab per area, each its own URL (GET shows it, POST saves it and
comes back to it with the message): reseller, subscriptions, notifications, email templates,
payments (payments_settings.py), API and webhooks (api_keys.py), staff (staff.py), security."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.models import LOGO_MAX_BYTES, Reseller, User
from apps.accounts.permissions import Perm
from apps.accounts.selectors import reseller_logo, staff_of
from apps.accounts.services import reseller_logo_remove, reseller_logo_set, reseller_update
from apps.core.errors import DomainError
from apps.notifications.models import (
    Event,
    NotificationSettings,
    NotificationTemplate,
    OutboxMessage,
)
from apps.notifications.rendering import template_check, template_preview, template_sources
from apps.notifications.selectors import reseller_settings_get
from apps.notifications.services import (
    TestEmailResult,
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


@dataclass(frozen=True)
class Tab:
    slug: str
    url_name: str
    label: Promise
    perm: Perm


TABS = (
    Tab("reseller", "settings_reseller", gettext_lazy("Reseller"), Perm.SETTINGS_MANAGE),
    Tab("subscriptions", "settings_subscription", gettext_lazy("Subscriptions"),
        Perm.SETTINGS_MANAGE),
    Tab("notifications", "settings_notifications", gettext_lazy("Notifications"),
        Perm.SETTINGS_MANAGE),
    Tab("templates", "settings_template", gettext_lazy("Email templates"),
        Perm.SETTINGS_MANAGE),
    Tab("payments", "settings_payments", gettext_lazy("Payments"), Perm.PAYMENTS_SETTINGS),
    Tab("api", "settings_api", gettext_lazy("API and webhooks"), Perm.API_KEYS_MANAGE),
    Tab("staff", "settings_staff", gettext_lazy("Staff"), Perm.STAFF_MANAGE),
    Tab("security", "settings_security", gettext_lazy("Security"), Perm.SECURITY_MANAGE),
)


def visible_tabs(ctx: Context) -> list[Tab]:
    return [tab for tab in TABS if ctx.can(tab.perm)]


def tab_page(request: HttpRequest, ctx: Context, slug: str, *, status: int = 200,
             template: str = "", **context: Any) -> HttpResponse:
    """One settings tab: its template (dashboard/settings/<slug>.html), with the tab bar."""
    response = _page(request, ctx, template or f"dashboard/settings/{slug}.html",
                     settings_tabs=visible_tabs(ctx), settings_tab=slug, **context)
    response.status_code = status
    return response


def tab_redirect(slug: str) -> HttpResponse:
    """Back to the tab, where the message is shown."""
    return redirect(f"dashboard:{next(tab.url_name for tab in TABS if tab.slug == slug)}")


@dashboard_view(Perm.VIEW)
def settings_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """The first tab the role may see."""
    tabs = visible_tabs(ctx)
    if not tabs:
        raise PermissionDenied(f"The {ctx.role} role has no settings.")
    return redirect(f"dashboard:{tabs[0].url_name}")


# ---------------------------------------------------------------- reseller, and its logo


def _reseller_page(request: HttpRequest, ctx: Context, *, status: int = 200,
                   reseller_form: forms.ResellerSettingsForm | None = None,
                   logo_form: forms.LogoForm | None = None) -> HttpResponse:
    reseller = ctx.reseller
    return tab_page(request, ctx, "reseller", status=status,
                    reseller_form=reseller_form or forms.ResellerSettingsForm(initial={
                        "timezone": reseller.timezone, "contact_email": reseller.contact_email,
                        "reactivation_policy": reseller.reactivation_policy,
                        "language": reseller.language}),
                    logo_form=logo_form or forms.LogoForm())


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_reseller_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    if request.method != "POST":
        return _reseller_page(request, ctx)
    form = forms.ResellerSettingsForm(request.POST)
    if form.is_valid():
        try:
            changes = {k: v for k, v in form.cleaned_data.items() if k != "language" or v}
            reseller_update(actor=ctx.actor, reseller=ctx.reseller, **changes)
            messages.success(request, _("Settings saved."))
            return tab_redirect("reseller")
        except DomainError as error:
            forms.attach_error(form, error)
    return _reseller_page(request, ctx, status=400, reseller_form=form)


def _logo_error(error: DomainError, size: int) -> str:
    return {
        "logo_svg": _("SVG logos are refused: an SVG file can carry script. "
                      "Upload a PNG, JPEG or WebP image."),
        "logo_type": _("The logo is a PNG, JPEG or WebP image."),
        "logo_too_large": _("The logo is at most %(max)s KB; this file is %(size)s KB.")
        % {"max": LOGO_MAX_BYTES // 1024, "size": (size + 1023) // 1024},
    }.get(error.code, error.message)


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_logo_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Upload the logo shown in the header, or remove it (action=remove)."""
    if request.POST.get("action") == "remove":
        reseller_logo_remove(actor=ctx.actor, reseller=ctx.reseller)
        messages.success(request, _("Logo removed."))
        return tab_redirect("reseller")
    form = forms.LogoForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["logo"]
        # Never more than one byte past the limit in memory, whatever was sent.
        content = upload.read(LOGO_MAX_BYTES + 1)
        try:
            reseller_logo_set(actor=ctx.actor, reseller=ctx.reseller, content=content)
        except DomainError as error:
            form.add_error("logo", _logo_error(error, upload.size or len(content)))
        else:
            messages.success(request, _("Logo saved."))
            return tab_redirect("reseller")
    return _reseller_page(request, ctx, status=400, logo_form=form)


@require_GET
@dashboard_view(Perm.VIEW)
def reseller_logo_view(request: HttpRequest, ctx: Context, version: str) -> HttpResponse:
    """The current reseller's logo. Its URL names its version, so it is cached for good
    (the image only: a redirect to sign in must not be)."""
    logo = reseller_logo(ctx.reseller)
    if logo is None or version != ctx.reseller.logo_version:
        raise Http404
    response = HttpResponse(bytes(logo.content), content_type=logo.content_type)
    patch_cache_control(response, private=True, max_age=365 * 24 * 3600, immutable=True)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Content-Disposition"] = "inline"
    return response


# ---------------------------------------------------------------- subscriptions


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


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_subscription_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    if request.method != "POST":
        return tab_page(request, ctx, "subscriptions",
                        subscription_form=forms.SubscriptionSettingsForm(
                            initial=_subscription_initial(ctx)))
    form = forms.SubscriptionSettingsForm(request.POST)
    if form.is_valid():
        try:
            subscription_settings_update(actor=ctx.actor, reseller=ctx.reseller,
                                         **dict(form.cleaned_data))
            messages.success(request, _("Subscription settings saved."))
            return tab_redirect("subscriptions")
        except DomainError as error:
            forms.attach_error(form, error)
    return tab_page(request, ctx, "subscriptions", status=400, subscription_form=form)


# ---------------------------------------------------------------- notifications


def _notification_initial(config: NotificationSettings) -> dict[str, Any]:
    return {
        "enabled_events": [e for e in Event.values if config.event_enabled(e)],
        "sender_name": config.sender_name, "sender_email": config.sender_email,
        "delivery": config.delivery, "smtp_host": config.smtp_host,
        "smtp_port": config.smtp_port, "smtp_username": config.smtp_username,
        "smtp_security": config.smtp_security, "esp_name": config.esp_name,
    }


def _notifications_page(request: HttpRequest, ctx: Context, *, status: int = 200,
                        notification_form: forms.NotificationSettingsForm | None = None,
                        test_email_form: forms.TestEmailForm | None = None) -> HttpResponse:
    config = notification_settings_for(ctx.reseller.pk)
    return tab_page(
        request, ctx, "notifications", status=status,
        notification_form=notification_form or forms.NotificationSettingsForm(
            initial=_notification_initial(config)),
        smtp_fields=forms.NotificationSettingsForm.SMTP_FIELDS,
        esp_fields=forms.NotificationSettingsForm.ESP_FIELDS,
        smtp_password_set=bool(config.smtp_password_encrypted),
        esp_api_key_set=bool(config.esp_api_key_encrypted),
        email_ok=delivery_configured(config),
        test_email_form=test_email_form or forms.TestEmailForm(initial={"to": ctx.user.email}),
    )


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_notifications_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    if request.method != "POST":
        return _notifications_page(request, ctx)
    form = forms.NotificationSettingsForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        enabled = set(data.pop("enabled_events"))
        data["disabled_events"] = [e for e in Event.values if e != Event.TEST and e not in enabled]
        # Absent (another delivery is chosen) or empty: the saved secret stays.
        password = data.pop("smtp_password", "") or None
        api_key = data.pop("esp_api_key", "") or None
        try:
            notification_settings_update(actor=ctx.actor, reseller=ctx.reseller,
                                         smtp_password=password, esp_api_key=api_key, **data)
            messages.success(request, _("Notification settings saved."))
            return tab_redirect("notifications")
        except DomainError as error:
            forms.attach_error(form, error)
    return _notifications_page(request, ctx, status=400, notification_form=form)


def test_email_where(result: TestEmailResult) -> str:
    """Where the test email went, in the reader's language."""
    if not result.ok:
        return ""
    return {
        "smtp": _("Accepted by the SMTP server %(where)s, which answered: %(reply)s"),
        "esp": _("Accepted by the email service %(where)s (message id %(id)s)."),
        "panel_console": _("Written to the web process's console (the panel's own email "
                           "backend sends nothing): look in the terminal that runs the panel."),
        "panel_file": _("Written to a file in %(where)s (the panel's own email backend sends "
                        "nothing)."),
        "panel_memory": _("Kept in the web process's memory (the panel's own email backend "
                          "sends nothing)."),
        "panel_dummy": _("Thrown away by the panel's own email backend (the dummy backend)."),
        "panel_smtp": _("Handed to the panel's SMTP server %(where)s."),
        "panel_other": _("Handed to the panel's email backend %(where)s."),
    }.get(result.via, _("Sent.")) % {
        "where": result.detail, "reply": result.server_reply or _("no answer text"),
        "id": result.provider_message_id or "-"}


@require_POST
@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_test_email_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """Send it now; with htmx the result replaces the form beside the button, else a message."""
    htmx = bool(request.headers.get("HX-Request"))
    form = forms.TestEmailForm(request.POST)
    result: TestEmailResult | None = None
    if form.is_valid():
        try:
            result = dash_services.test_email_send(actor=ctx.actor, reseller=ctx.reseller,
                                                   to=form.cleaned_data["to"])
        except DomainError as error:
            forms.attach_error(form, error)
    if htmx:
        # 200 even for a bad address: htmx swaps only successful answers.
        return _page(request, ctx, "dashboard/settings/_test_email.html",
                     test_email_form=form, test_result=result,
                     test_where=test_email_where(result) if result else "",
                     test_row_url=_row_url(result))
    if result is None:
        return _notifications_page(request, ctx, status=400, test_email_form=form)
    row_url = _row_url(result)
    if result.ok:
        messages.success(request, format_html(
            '{} {} <a href="{}">{}</a>',
            _("Test email sent to %(to)s.") % {"to": form.cleaned_data["to"]},
            test_email_where(result), row_url, _("See it in the outbox")))
    elif row_url:
        messages.error(request, format_html(
            '{} <a href="{}">{}</a>',
            _("The test email was not sent: %(error)s") % {"error": result.message},
            row_url, _("See it in the outbox")))
    else:
        messages.error(request, _("The test email was not sent: %(error)s")
                       % {"error": result.message})
    return tab_redirect("notifications")


def _row_url(result: TestEmailResult | None) -> str:
    if result is None or result.outbox_id is None:
        return ""
    return reverse("dashboard:outbox_message", args=[result.outbox_id])


@dashboard_view(Perm.SETTINGS_MANAGE)
def outbox_message_view(request: HttpRequest, ctx: Context, message_id: int) -> HttpResponse:
    """One outbox row: to whom, its state, the server's error. Not its body (a password)."""
    row = OutboxMessage.objects.filter(reseller=ctx.reseller, pk=message_id) \
        .select_related("account").first()
    if row is None:
        raise Http404
    return tab_page(request, ctx, "notifications",
                    template="dashboard/settings/outbox_message.html", row=row,
                    outcome=dash_services.outcome_of(row))


# ---------------------------------------------------------------- email templates


def _preview_context(reseller: Reseller) -> dict[str, Any]:
    """The preview is signed as the reseller's subscribers would see it."""
    return {"reseller_name": reseller.name, "reseller_email": reseller.contact_email}


def _template_initial(reseller: Reseller, event: str, language: str) -> dict[str, Any]:
    """The reseller's own template in that language, else the panel's default in it."""
    found = template_sources(reseller.pk, event, language)
    return {"event": event, "language": language, "subject": found.subject,
            "text": found.text, "html": found.html}


def _template_event(request: HttpRequest) -> str:
    event = request.GET.get("event") or Event.WELCOME
    if event not in Event.values:
        raise Http404
    return event


def _template_language(request: HttpRequest, reseller: Reseller) -> str:
    language = request.GET.get("language") or reseller.language
    if language not in dict(django_settings.LANGUAGES):
        raise Http404
    return language


def _template_url(name: str, event: str, language: str) -> str:
    return reverse(f"dashboard:{name}") + "?" + urlencode({"event": event,
                                                          "language": language})


def _editor_context(ctx: Context, *, event: str, language: str,
                    template_form: forms.TemplateForm | None = None,
                    template_preview_shown: Any = None) -> dict[str, Any]:
    """The editor of one event in one language: the form, the preview, where it came from."""
    return {
        "event": event, "language": language,
        "language_name": dict(django_settings.LANGUAGES)[language],
        "template_origin": template_sources(ctx.reseller.pk, event, language).origin,
        "template_form": template_form or forms.TemplateForm(
            initial=_template_initial(ctx.reseller, event, language)),
        "template_preview": template_preview_shown or template_preview(
            ctx.reseller.pk, event, language, context=_preview_context(ctx.reseller)),
    }


def _templates_page(request: HttpRequest, ctx: Context, *, event: str, language: str,
                    status: int = 200, template_form: forms.TemplateForm | None = None,
                    template_preview_shown: Any = None) -> HttpResponse:
    event_names = dict(forms.TemplateForm().fields["event"].choices)  # type: ignore[attr-defined]
    languages = dict(django_settings.LANGUAGES)
    own = [{"event": e, "language": lang, "event_name": event_names.get(e, e),
            "language_name": languages.get(lang, lang),
            "url": _template_url("settings_template", e, lang)}
           for e, lang in NotificationTemplate.objects.filter(reseller=ctx.reseller)
           .order_by("event", "language").values_list("event", "language")]
    return tab_page(
        request, ctx, "templates", status=status,
        # Each event with the languages the reseller wrote its own version in.
        events=[(e, name, [t["language_name"] for t in own if t["event"] == e])
                for e, name in event_names.items()],
        template_languages=django_settings.LANGUAGES, own_templates=own,
        **_editor_context(ctx, event=event, language=language, template_form=template_form,
                          template_preview_shown=template_preview_shown),
    )


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """GET: the event's email in a language (the reseller's own or the default) and its
    preview. POST: preview (nothing saved) or save; a template that does not render is
    refused."""
    if request.method != "POST":
        return _templates_page(request, ctx, event=_template_event(request),
                               language=_template_language(request, ctx.reseller))
    form = forms.TemplateForm(request.POST)
    preview = None
    if form.is_valid():
        # Not sent (an older form): the reseller's language, as the service would take.
        data = {**form.cleaned_data,
                "language": form.cleaned_data.get("language") or ctx.reseller.language}
        try:
            if request.POST.get("action") == "save":
                notification_template_save(actor=ctx.actor, reseller=ctx.reseller, **data)
                messages.success(request, _("Email template saved."))
                return redirect(_template_url("settings_template", data["event"],
                                              data["language"]))
            preview = template_check(**data, context=_preview_context(ctx.reseller))
        except DomainError as error:
            forms.attach_error(form, error)
    event = form.cleaned_data.get("event") or _template_event(request)
    language = form.cleaned_data.get("language") or _template_language(request, ctx.reseller)
    return _templates_page(request, ctx, event=str(event), language=str(language),
                           status=400 if form.errors else 200,
                           template_form=form, template_preview_shown=preview)


@dashboard_view(Perm.SETTINGS_MANAGE)
def settings_template_default_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    """The editor of one event in one language (htmx swaps it in when a selector changes);
    else the tab."""
    event = _template_event(request)
    language = _template_language(request, ctx.reseller)
    if not request.headers.get("HX-Request"):
        return redirect(_template_url("settings_template", event, language))
    return _page(request, ctx, "dashboard/settings/_template_editor.html",
                 **_editor_context(ctx, event=event, language=language))


# ---------------------------------------------------------------- security


def _security_page(request: HttpRequest, ctx: Context) -> HttpResponse:
    security = ResellerSecurity.objects.filter(reseller=ctx.reseller).first()
    required = bool(security and security.require_2fa)
    memberships = list(staff_of(ctx.reseller, actor=ctx.actor).order_by("user__email"))
    with_2fa = set(User.objects.filter(pk__in=[m.user_id for m in memberships],
                                       totpdevice__confirmed=True).values_list("pk", flat=True))
    return tab_page(request, ctx, "security", require_2fa=required,
                    security_form=forms.SecurityForm(initial={"require_2fa": required}),
                    without_2fa=[m for m in memberships if m.user_id not in with_2fa],
                    staff_count=len(memberships))


@dashboard_view(Perm.SECURITY_MANAGE)
def settings_security_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    if request.method != "POST":
        return _security_page(request, ctx)
    dash_services.security_set_require_2fa(actor=ctx.actor, reseller=ctx.reseller,
                                           required=request.POST.get("require_2fa") == "on")
    messages.success(request, _("Security settings saved."))
    return tab_redirect("security")
