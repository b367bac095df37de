"""Forms: they parse and label input; the services decide what is allowed."""

from __future__ import annotations

import ipaddress
import re
import secrets
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.accounts.models import ReactivationPolicy, Role
from apps.core.catalogue import WEBHOOK_TYPES
from apps.core.currencies import MINOR_UNITS
from apps.core.errors import DomainError
from apps.credits.models import EntryKind
from apps.crm.models import Channel
from apps.payments.models import PaymentSource, PaymentState
from apps.subscriptions.services.settings import renewal_sources

from .fields import MoneyField, MoneyFormMixin


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
    # Not sent (an older form): the language stays as it is. The label does not say
    # "Language": that names the header's switcher, on every page.
    language = forms.ChoiceField(label=_("Emails in"), choices=settings.LANGUAGES,
                                 required=False)
    external_id = forms.CharField(label=_("External id"), max_length=100, required=False)
    marketing_consent = forms.BooleanField(label=_("Agrees to marketing email"), required=False)
    marketing_consent_source = forms.CharField(
        label=_("Where the consent was given"), max_length=60, required=False)


class NewAccountForm(forms.Form):
    # Filled by picking a subscriber in the search beside it (account_new.html).
    subscriber = forms.IntegerField(label=_("Existing subscriber"), required=False,
                                    widget=forms.HiddenInput)
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


class SubscriberSearchForm(forms.Form):
    q = forms.CharField(label=_("Find an existing subscriber"), min_length=2, max_length=100,
                        error_messages={"min_length": _("Type at least 2 characters.")})


class AutoRenewForm(forms.Form):
    auto_renew = forms.TypedChoiceField(label=_("Auto-renewal"), coerce=lambda v: v == "1",
                                        choices=[("1", _("On")), ("0", _("Off"))])


class TerminateForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    confirm = forms.BooleanField(
        label=_("Yes, terminate this account for good"),
        error_messages={"required": _("Tick the box to confirm the termination.")})


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
    add_currency = forms.ChoiceField(label=_("Add a price in"), required=False)
    add_price = forms.CharField(
        label=_("Price per period in that currency"), required=False, max_length=40,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "size": 12}))

    def __init__(self, *args: Any, base_currency: str, prices: dict[str, int] | None = None,
                 **kwargs: Any) -> None:
        """One price field per currency the plan has (and the base one), a Remove box for each
        price that exists, and a row to add a currency; cleaned_data["prices"] is the new set."""
        super().__init__(*args, **kwargs)
        self.base_currency = base_currency
        self.priced = dict(prices or {})
        self.currencies = sorted({*self.priced, base_currency},
                                 key=lambda c: (c != base_currency, c))
        for currency in self.currencies:
            label = (_("Price per period in %(currency)s (base currency)")
                     if currency == base_currency else _("Price per period in %(currency)s"))
            self.fields[f"price_{currency}"] = MoneyField(
                currency=currency, label=label % {"currency": currency}, required=False,
                initial=self.priced.get(currency))
            if currency in self.priced:
                self.fields[f"remove_{currency}"] = forms.BooleanField(
                    label=_("Remove the %(currency)s price") % {"currency": currency},
                    required=False)
        self.fields["add_currency"].choices = add_currency_choices(  # type: ignore[attr-defined]
            exclude=self.currencies)
        self.order_fields([*(n for n in self.fields if n not in ("add_currency", "add_price")),
                           "add_currency", "add_price"])

    def plan_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("name", "tier", "duration_months", "credit_cost",
                                        "is_trial")]

    def price_rows(self) -> list[dict[str, Any]]:
        return [{"currency": c, "is_base": c == self.base_currency, "price": self[f"price_{c}"],
                 "remove": self[f"remove_{c}"] if c in self.priced else None}
                for c in self.currencies]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        prices: dict[str, int] = {}
        for currency in self.currencies:
            name = f"price_{currency}"
            if data.get(f"remove_{currency}") or name in self.errors:
                continue
            if data.get(name) is not None:
                prices[currency] = data[name]
            elif currency in self.priced:
                self.add_error(name, _("Enter the %(currency)s price, or tick Remove.")
                               % {"currency": currency})
        added, text = data.get("add_currency") or "", (data.get("add_price") or "").strip()
        if added and text:
            try:
                prices[added] = MoneyField(currency=added).clean(text)
            except forms.ValidationError as error:
                self.add_error("add_price", error)
        elif added:
            self.add_error("add_price", _("Enter the price in %(currency)s.")
                           % {"currency": added})
        elif text:
            self.add_error("add_currency", _("Choose the currency of this price."))
        data["prices"] = prices
        return data


# Offered first when adding a price; every other ISO 4217 currency follows.
COMMON_CURRENCIES = ["EUR", "USD", "GBP", "CHF", "CAD", "AUD", "MXN", "BRL", "ARS", "COP",
                     "CLP", "JPY"]


def add_currency_choices(*, exclude: list[str]) -> list[tuple[Any, Any]]:
    common = [c for c in COMMON_CURRENCIES if c not in exclude]
    others = [c for c in sorted(MINOR_UNITS) if c not in exclude and c not in common]
    return [("", "—"), (_("Common currencies"), [(c, c) for c in common]),
            (_("Other currencies"), [(c, c) for c in others])]


class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("All")), *translated(EntryKind.choices)])
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))


class PaymentFilterForm(forms.Form):
    """The billing tab's payments: which mode, state and source, and a range of days."""

    mode = forms.ChoiceField(label=_("Mode"), required=False,
                             choices=[("live", _("Live")), ("test", _("Test"))])
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All")), *translated(PaymentState.choices)])
    source = forms.ChoiceField(label=_("Paid by"), required=False,
                               choices=[("", _("All")), *translated(PaymentSource.choices)])
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


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
    # The least a new colleague needs; an owner is made on purpose.
    role = forms.ChoiceField(label=_("Role"), choices=translated(Role.choices),
                             initial=Role.VIEWER)


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
    # Each language in its own name (settings.LANGUAGES). Not sent (an older form): the
    # language stays as it is.
    language = forms.ChoiceField(label=_("Emails to you, and new subscribers' default, in"),
                                 choices=settings.LANGUAGES, required=False)


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo (PNG, JPEG or WebP, up to 256 KB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}))


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

    # Shown only for their delivery (static/js/panel.js, data-show-when), and neither
    # required nor saved for another one: the stored values stay as they were.
    SMTP_FIELDS = ("smtp_host", "smtp_port", "smtp_username", "smtp_password", "smtp_security")
    ESP_FIELDS = ("esp_name", "esp_api_key")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.notifications.models import ESP_CHOICES, Delivery, Event, SmtpSecurity

        super().__init__(*args, **kwargs)
        self.fields["enabled_events"].choices = translated(  # type: ignore[attr-defined]
            [(v, label) for v, label in Event.choices if v != Event.TEST])
        self.fields["delivery"].choices = translated(Delivery.choices)  # type: ignore[attr-defined]
        self.fields["smtp_security"].choices = translated(  # type: ignore[attr-defined]
            SmtpSecurity.choices)
        self.fields["esp_name"].choices = [("", "-"), *ESP_CHOICES]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        delivery = data.get("delivery")
        unused = {"smtp": self.ESP_FIELDS, "esp": self.SMTP_FIELDS}.get(
            str(delivery), self.SMTP_FIELDS + self.ESP_FIELDS)
        for name in unused:
            self.errors.pop(name, None)
            data.pop(name, None)
        return data


class TemplateForm(forms.Form):
    """A reseller's own version of one event's email, previewed before it is saved."""

    # Chosen in the tab's one event selector, which loads the form.
    event = forms.ChoiceField(label=_("Email"), choices=[], widget=forms.HiddenInput)
    # Chosen beside it; not sent (an older form): the reseller's language.
    language = forms.ChoiceField(label=_("Written in"), choices=settings.LANGUAGES,
                                 required=False, widget=forms.HiddenInput)
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


def renewal_source_summaries() -> dict[str, Any]:
    """How an account renews, as a sentence on the subscriber page and the new-account check."""
    return {
        "complimentary": _("Renewed on my credits, automatically"),
        "external": _("Renewed by my billing system, through the API"),
        "wallet": _("Paid from the subscriber's wallet"),
        "card": _("Paid from the wallet, else charged to the subscriber's saved card"),
    }


RENEWAL_SOURCE_CHOICES = {
    "complimentary": _("On my credits, automatically (complimentary)"),
    "external": _("By my billing system, through the API (external)"),
    "wallet": _("From the subscriber's wallet (wallet)"),
    "card": _("Wallet first, else the saved card (card)"),
}


def renewal_source_choices() -> list[tuple[str, Any]]:
    """Every source an account may renew from (a collector each), the built-in ones first;
    a collector added in settings reads as its name."""
    names = renewal_sources()
    ordered = [n for n in RENEWAL_SOURCE_CHOICES if n in names] + [
        n for n in names if n not in RENEWAL_SOURCE_CHOICES]
    return [(n, RENEWAL_SOURCE_CHOICES.get(n, n)) for n in ordered]


class RenewalSettingsForm(forms.Form):
    """Auto-renewal's period, in whole periods of the account's plan, and its source."""

    renewal_periods = forms.IntegerField(label=_("Renews for (plan periods)"), min_value=1,
                                         max_value=120, required=False)
    # Offered from renewal_source_choices(); the service says which names exist.
    renewal_source = forms.CharField(label=_("How it renews"), max_length=30, required=False)


def new_form_key() -> str:
    """The idempotency key a payment form carries from the moment it is shown: submitting
    the same form twice records once."""
    return secrets.token_urlsafe(18)


class RecordPaymentForm(MoneyFormMixin, forms.Form):
    """Cash or a bank transfer taken by hand: into the wallet, or renewing an account now."""

    amount = MoneyField(label=_("Amount"), currency_field="currency")
    currency = forms.ChoiceField(label=_("Currency"), choices=[])
    source = forms.ChoiceField(label=_("Paid by"), choices=[
        ("cash", pgettext_lazy("choice", "Cash")),
        ("bank_transfer", pgettext_lazy("choice", "Bank transfer"))])
    reference = forms.CharField(label=_("Reference (receipt or transfer number)"),
                                max_length=200)
    paid_at = forms.DateField(label=_("Paid on"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    account = forms.TypedChoiceField(label=_("Renew an account now (optional)"), coerce=int,
                                     required=False, empty_value=None)
    months = forms.IntegerField(label=_("Renew for (months)"), min_value=1, max_value=120,
                                required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, currencies: list[str], accounts: list[tuple[int, str]],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]  # type: ignore[attr-defined]
        self.fields["account"].choices = [  # type: ignore[attr-defined]
            ("", _("No: the money goes into the wallet")), *accounts]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_form_key())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("account") and not data.get("months") and "months" not in self.errors:
            self.add_error("months", _("Give the months to renew, or choose no account."))
        return data


class RefundForm(forms.Form):
    """Part or all of what is left of one payment, where charges.refund_destinations says."""

    destination = forms.ChoiceField(label=_("Refund to"), choices=[])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, currency: str, destinations: list[str],
                 can_shorten: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In the payment's own currency: "9,50" is read as that currency's minor units.
        self.fields["amount"] = MoneyField(label=_("Amount to refund"), currency=currency)
        if can_shorten:
            # A renewal's payment: the refund may take back the months it paid for.
            self.fields["shorten"] = forms.BooleanField(
                label=_("Also take the months it paid for off the account (whole refund only)"),
                required=False)
        self.order_fields(["amount", "destination", "shorten", "reason", "idempotency_key"])
        labels = {"card": pgettext_lazy("choice", "To the card"),
                  "wallet": pgettext_lazy("choice", "To the wallet"),
                  "outside": pgettext_lazy("choice", "Handed back outside the panel")}
        self.fields["destination"].choices = [  # type: ignore[attr-defined]
            (d, labels[d]) for d in destinations]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_form_key())


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Key name"), max_length=100)
    mode = forms.ChoiceField(label=_("Mode"), choices=[("live", _("Live")), ("test", _("Test"))])
    scopes = forms.MultipleChoiceField(label=_("Scopes"), widget=forms.CheckboxSelectMultiple,
                                       choices=[])
    expires_at = forms.DateField(label=_("Expires on (optional)"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    allowed_ips = forms.CharField(
        label=_("Allowed IP addresses or networks (one per line or comma separated; "
                "empty: any address)"),
        required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "203.0.113.7\n198.51.100.0/24"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from apps.api.models import Scope

        kwargs.setdefault("auto_id", "key_%s")
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = Scope.choices  # type: ignore[attr-defined]

    def clean_expires_at(self) -> Any:
        expires = self.cleaned_data.get("expires_at")
        if expires is not None and expires <= timezone.localdate():
            raise forms.ValidationError(_("The expiry date is after today."))
        return expires

    def clean_allowed_ips(self) -> list[str]:
        values = [v for v in re.split(r"[\s,;]+", self.cleaned_data.get("allowed_ips") or "") if v]
        bad = []
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                bad.append(value)
        if bad:
            raise forms.ValidationError(
                _("Not an IP address or network (like 203.0.113.7 or 198.51.100.0/24): "
                  "%(values)s"), params={"values": ", ".join(bad)})
        return values


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


class EmailBacklogForm(forms.Form):
    """One choice about the emails held while delivery was not set up: send them (all or
    the recent ones) or discard them (all or the older ones). Without `confirm` the page
    asks first; `as_of` is when the reseller saw the counts it confirms."""

    scope = forms.ChoiceField(choices=[("all", _("All")), ("recent", _("Recent")),
                                       ("older", _("Older"))], initial="all")
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=3650, required=False)
    as_of = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("scope") in ("recent", "older") and data.get("days") is None:
            self.add_error("days", _("Give a number of days."))
        return data


class StripeKeysForm(forms.Form):
    """One mode's Stripe keys; an empty secret keeps the saved one."""

    publishable_key = forms.CharField(label=_("Publishable key"), max_length=255)
    secret_key = forms.CharField(
        label=_("Secret key (leave empty to keep the saved one)"), required=False,
        max_length=255, strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    webhook_secret = forms.CharField(
        label=_("Webhook signing secret (leave empty to keep the saved one)"), required=False,
        max_length=255, strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
