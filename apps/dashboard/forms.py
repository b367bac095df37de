"""Forms: they parse and label input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.accounts.models import ReactivationPolicy, Role
from apps.core.catalogue import WEBHOOK_TYPES
from apps.core.errors import DomainError
from apps.credits.models import EntryKind
from apps.crm.models import Channel


def translated(choices: list[tuple[str, str]]) -> list[tuple[str, Any]]:
    """Model choices with their labels translated when shown (labels.py lists them)."""
    return [(value, pgettext_lazy("choice", label)) for value, label in choices]


def attach_error(form: forms.Form, error: DomainError) -> None:
    """Put a service's refusal beside the field it names, or at the top of the form."""
    field = error.param if error.param in form.fields else None
    form.add_error(field, error.message)


class SignInForm(forms.Form):
    username = forms.EmailField(label=_("Email"), widget=forms.EmailInput(
        attrs={"autocomplete": "email", "autofocus": True}))
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )


class SubscriberForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    country = forms.CharField(label=_("Country (two letters)"), max_length=2, required=False)
    external_id = forms.CharField(label=_("External id"), max_length=100, required=False)
    marketing_consent = forms.BooleanField(label=_("Agrees to marketing email"), required=False)
    marketing_consent_source = forms.CharField(
        label=_("Where the consent was given"), max_length=60, required=False)


class NewAccountForm(forms.Form):
    subscriber = forms.IntegerField(label=_("Existing subscriber (id)"), required=False)
    name = forms.CharField(label=_("New subscriber's name"), max_length=200, required=False)
    email = forms.EmailField(label=_("New subscriber's email"), required=False)
    plan = forms.TypedChoiceField(label=_("Plan"), coerce=int)
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=120, initial=1)
    renewal_source = forms.ChoiceField(label=_("How it renews"), choices=[],
                                       initial="complimentary", required=False)

    def __init__(self, *args: object, plans: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["plan"].choices = plans  # type: ignore[attr-defined]
        self.fields["renewal_source"].choices = renewal_source_choices()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not data.get("subscriber") and not (data.get("name") or "").strip():
            self.add_error("name", _("Choose an existing subscriber or give a new one's name."))
        return data


class RenewForm(forms.Form):
    months = forms.IntegerField(label=_("Months"), min_value=1, max_value=120, initial=1)


class ChangePlanForm(forms.Form):
    plan = forms.TypedChoiceField(label=_("New plan"), coerce=int)
    when = forms.ChoiceField(label=_("When"), choices=[
        ("now", _("Now")), ("renewal", _("At the next renewal"))])

    def __init__(self, *args: object, plans: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["plan"].choices = plans  # type: ignore[attr-defined]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}),
                           max_length=10_000)
    pinned = forms.BooleanField(label=_("Pinned"), required=False)


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=translated(Channel.choices))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    details = forms.CharField(label=_("Details"), required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    resolution = forms.CharField(label=_("How it was resolved (leave empty if still open)"),
                                 required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("How it was resolved"),
                                 widget=forms.Textarea(attrs={"rows": 2}))


class DeviceForm(forms.Form):
    device_type = forms.CharField(label=_("Type"), max_length=60)
    app = forms.CharField(label=_("App"), max_length=100, required=False)
    device_id = forms.CharField(label=_("Device id"), max_length=200, required=False)
    last_seen_at = forms.DateTimeField(label=_("Last seen"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    note = forms.CharField(label=_("Device note"), max_length=500, required=False)


class FollowUpForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    tier = forms.CharField(label=_("Tier"), max_length=60, required=False)
    duration_months = forms.IntegerField(label=_("Months per period"), min_value=1,
                                         max_value=120, initial=1)
    credit_cost = forms.IntegerField(label=_("Credits per period"), min_value=1, initial=1)
    is_trial = forms.BooleanField(label=_("Trial"), required=False)
    price = forms.IntegerField(label=_("Price per period, in minor units (cents)"),
                               min_value=0, required=False)


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All")), *translated(EntryKind.choices)])
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))


class AuditFilterForm(forms.Form):
    """Who, what and when for the audit trail; the actor choices are the reseller's own."""

    actor = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("Action"), required=False)
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actors: list[tuple[str, str]],
                 actions: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [  # type: ignore[attr-defined]
            ("", _("Anyone")), *actors]
        self.fields["action"].choices = [  # type: ignore[attr-defined]
            ("", _("Any action")), *actions]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=translated(Role.choices))


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=translated(Role.choices))


class SecurityForm(forms.Form):
    require_2fa = forms.BooleanField(label=_("Require two-factor sign-in for all staff"),
                                     required=False)


class ResellerSettingsForm(forms.Form):
    timezone = forms.CharField(label=_("Time zone"), max_length=64)
    contact_email = forms.EmailField(label=_("Contact email"))
    reactivation_policy = forms.ChoiceField(label=_("When a suspended account is reactivated"),
                                            choices=translated(ReactivationPolicy.choices))


class TestEmailForm(forms.Form):
    to = forms.EmailField(label=_("Send a test email to"))


class SubscriptionSettingsForm(forms.Form):
    """The lifecycle settings; the service validates and saves them together or not at all."""

    reminder_offsets = forms.CharField(
        label=_("Reminder days before expiry (comma separated, 0 = the expiry day)"),
        max_length=200, required=False)
    grace_hours = forms.IntegerField(label=_("Grace period after expiry (hours)"), min_value=0)
    termination_after_days = forms.IntegerField(
        label=_("Days from suspension to termination"), min_value=0)
    renewal_lead_days = forms.IntegerField(
        label=_("Renew this many days before expiry"), min_value=0)
    dunning_reminder_days = forms.IntegerField(
        label=_("Failed payment: days to the reminder"), min_value=0)
    dunning_suspend_days = forms.IntegerField(
        label=_("Failed payment: days to the suspension"), min_value=0)
    dunning_terminate_days = forms.IntegerField(
        label=_("Failed payment: days to the termination"), min_value=0)
    credit_floor = forms.IntegerField(
        label=_("Credit floor (alert when the balance falls below it; 0 = off)"), min_value=0)
    low_credit_recipients = forms.CharField(
        label=_("Who gets the credit floor alert (emails, comma separated)"), max_length=1000,
        required=False)


class NotificationSettingsForm(forms.Form):
    """Which emails go out, from whom and how; an empty secret keeps the stored one."""

    enabled_events = forms.MultipleChoiceField(
        label=_("Emails to send"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[])
    sender_name = forms.CharField(label=_("Sender name"), max_length=120, required=False)
    sender_email = forms.EmailField(label=_("Sender email"), required=False)
    delivery = forms.ChoiceField(label=_("Delivery"), choices=[])
    smtp_host = forms.CharField(label=_("SMTP host"), max_length=255, required=False)
    smtp_port = forms.IntegerField(label=_("SMTP port"), min_value=1, max_value=65535,
                                   initial=587)
    smtp_username = forms.CharField(label=_("SMTP user"), max_length=255, required=False)
    smtp_password = forms.CharField(
        label=_("SMTP password (leave empty to keep the saved one)"), required=False,
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    smtp_security = forms.ChoiceField(label=_("SMTP security (TLS)"), choices=[])
    esp_name = forms.ChoiceField(label=_("Email service"), required=False, choices=[])
    esp_api_key = forms.CharField(
        label=_("Email service API key (leave empty to keep the saved one)"), required=False,
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.notifications.models import ESP_CHOICES, Delivery, Event, SmtpSecurity

        super().__init__(*args, **kwargs)
        self.fields["enabled_events"].choices = translated(  # type: ignore[attr-defined]
            [(v, label) for v, label in Event.choices if v != Event.TEST])
        self.fields["delivery"].choices = translated(Delivery.choices)  # type: ignore[attr-defined]
        self.fields["smtp_security"].choices = translated(  # type: ignore[attr-defined]
            SmtpSecurity.choices)
        self.fields["esp_name"].choices = [("", "-"), *ESP_CHOICES]  # type: ignore[attr-defined]


class TemplateForm(forms.Form):
    """A reseller's own version of one event's email, previewed before it is saved."""

    event = forms.ChoiceField(label=_("Email"), choices=[])
    subject = forms.CharField(label=_("Subject"), max_length=255)
    text = forms.CharField(label=_("Text body"), widget=forms.Textarea(attrs={"rows": 8}))
    html = forms.CharField(label=_("HTML body (optional)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.notifications.models import Event

        super().__init__(*args, **kwargs)
        self.fields["event"].choices = translated(Event.choices)  # type: ignore[attr-defined]


class RenewalSourceForm(forms.Form):
    renewal_source = forms.ChoiceField(label=_("How it renews"), choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["renewal_source"].choices = renewal_source_choices()  # type: ignore[attr-defined]


def renewal_source_choices() -> list[tuple[str, Any]]:
    return [
        ("complimentary", _("On my credits, automatically (complimentary)")),
        ("external", _("By my billing system, through the API (external)")),
    ]


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Key name"), max_length=100)
    mode = forms.ChoiceField(label=_("Mode"), choices=[("live", _("Live")), ("test", _("Test"))])
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple,
                                       choices=[])
    expires_at = forms.DateField(label=_("Expires on (optional)"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.api.models import Scope

        kwargs.setdefault("auto_id", "key_%s")
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = Scope.choices  # type: ignore[attr-defined]


class WebhookForm(forms.Form):
    url = forms.URLField(label=_("Endpoint URL (https)"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(label=_("Events"), widget=forms.CheckboxSelectMultiple,
                                       choices=[])
    mode = forms.ChoiceField(label=_("Mode"), choices=[("live", _("Live")), ("test", _("Test"))])
    description = forms.CharField(label=_("Description"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "hook_%s")
        super().__init__(*args, **kwargs)
        # Listed by their public names, which integrators code against.
        self.fields["events"].choices = [  # type: ignore[attr-defined]
            (name, name) for name in WEBHOOK_TYPES
        ]
