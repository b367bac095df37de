"""The Payments tab: the reseller's own Stripe keys for test and for live mode, the webhook
address to give Stripe, "Test connection" and "Remove keys"."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.accounts.models import Reseller
from apps.accounts.permissions import Perm
from apps.core.errors import DomainError
from apps.payments.models import StripeKeys
from apps.payments.selectors import stripe_keys_of
from apps.payments.stripe_keys import (
    KeyModeMismatch,
    KeyNotRecognised,
    KeysCheck,
    stripe_keys_check,
    stripe_keys_remove,
    stripe_keys_set,
)

from .. import forms
from ..access import Context, dashboard_view
from ._common import _page
from .settings import tab_page, tab_redirect

MODES = {"test": False, "live": True}


def stripe_webhook_path(reseller: Reseller, livemode: bool) -> str:
    """Where Stripe sends the reseller's events for one mode (Stripe dashboard > Webhooks)."""
    mode = "live" if livemode else "test"
    try:
        return reverse("payments_stripe_webhook", kwargs={"slug": reseller.slug, "mode": mode})
    except NoReverseMatch:
        # The receiving view lives in apps.payments; until its URL is routed, its address.
        return f"/webhooks/stripe/{reseller.slug}/{mode}/"


def mode_label(livemode: bool) -> str:
    return _("live mode") if livemode else _("test mode")


def _livemode(mode: str) -> bool:
    if mode not in MODES:
        raise Http404("No such mode.")
    return MODES[mode]


def key_error_text(error: DomainError) -> str:
    """A refused key in the reader's language, naming the slot and what was pasted."""
    if isinstance(error, KeyModeMismatch):
        slot = mode_label(error.slot_livemode)
        pasted = mode_label(not error.slot_livemode)
        if error.field == "publishable_key":
            text = _("This is the %(slot)s slot: it takes a publishable key starting "
                     "%(expected)s. The key pasted is a %(pasted)s key (%(prefix)s…).")
        else:
            text = _("This is the %(slot)s slot: it takes a secret key starting "
                     "%(expected)s. The key pasted is a %(pasted)s key (%(prefix)s…).")
        expected = (("pk_live_",) if error.slot_livemode else ("pk_test_",)) \
            if error.field == "publishable_key" else \
            (("sk_live_", "rk_live_") if error.slot_livemode else ("sk_test_", "rk_test_"))
        return text % {"slot": slot, "pasted": pasted, "prefix": error.pasted_prefix,
                       "expected": _(" or ").join(expected)}
    if isinstance(error, KeyNotRecognised):
        if error.field == "webhook_secret":
            return _("This is not a webhook signing secret: it starts whsec_.")
        if error.field == "publishable_key":
            return _("This is not a Stripe publishable key: it starts %(expected)s.") % {
                "expected": "pk_live_" if error.slot_livemode else "pk_test_"}
        return _("This is not a Stripe secret key: it starts %(expected)s.") % {
            "expected": _(" or ").join(("sk_live_", "rk_live_") if error.slot_livemode
                                        else ("sk_test_", "rk_test_"))}
    if error.code == "required":
        return {"publishable_key": _("The publishable key is required."),
                "secret_key": _("The secret key is required.")}.get(error.param or "",
                                                                      error.message)
    return error.message


def check_text(check: KeysCheck) -> str:
    if check.ok:
        return _("Stripe answered: %(detail)s") % {"detail": check.message}
    if check.reason == "no_keys":
        return _("No Stripe keys are saved for this mode.")
    if check.reason == "unavailable":
        return _("Stripe did not answer in time; try again. (%(detail)s)") % {
            "detail": check.message}
    return _("Stripe refused these keys: check that they are the right ones and not "
             "revoked. (%(detail)s)") % {"detail": check.message}


@dataclass
class ModePanel:
    mode: str
    livemode: bool
    label: str
    keys: StripeKeys | None
    form: forms.StripeKeysForm
    webhook_url: str
    check: KeysCheck | None = None
    check_text: str = ""


def _panel(request: HttpRequest, ctx: Context, mode: str, keys: StripeKeys | None,
           form: forms.StripeKeysForm | None = None) -> ModePanel:
    livemode = MODES[mode]
    return ModePanel(
        mode=mode, livemode=livemode, label=mode_label(livemode), keys=keys,
        form=form or forms.StripeKeysForm(
            prefix=mode, initial={"publishable_key": keys.publishable_key if keys else ""}),
        webhook_url=request.build_absolute_uri(stripe_webhook_path(ctx.reseller, livemode)))


def _payments_page(request: HttpRequest, ctx: Context, *, status: int = 200,
                   forms_by_mode: dict[str, forms.StripeKeysForm] | None = None) -> HttpResponse:
    keys = stripe_keys_of(ctx.reseller, actor=ctx.actor)
    given = forms_by_mode or {}
    panels = [_panel(request, ctx, mode, keys[livemode], given.get(mode))
              for mode, livemode in MODES.items()]
    return tab_page(request, ctx, "payments", status=status, panels=panels)


@dashboard_view(Perm.PAYMENTS_SETTINGS)
def settings_payments_view(request: HttpRequest, ctx: Context) -> HttpResponse:
    if request.method != "POST":
        return _payments_page(request, ctx)
    mode = request.POST.get("mode", "")
    livemode = _livemode(mode)
    form = forms.StripeKeysForm(request.POST, prefix=mode)
    if form.is_valid():
        try:
            stripe_keys_set(actor=ctx.actor, reseller=ctx.reseller, livemode=livemode,
                            **form.cleaned_data)
            messages.success(request, _("Stripe keys for %(mode)s saved.")
                             % {"mode": mode_label(livemode)})
            return tab_redirect("payments")
        except DomainError as error:
            field = error.param if error.param in form.fields else None
            form.add_error(field, key_error_text(error))
    return _payments_page(request, ctx, status=400, forms_by_mode={mode: form})


@require_POST
@dashboard_view(Perm.PAYMENTS_SETTINGS)
def settings_payments_check_view(request: HttpRequest, ctx: Context, mode: str) -> HttpResponse:
    """With htmx the result replaces the line beside the button; without, a message."""
    livemode = _livemode(mode)
    check = stripe_keys_check(actor=ctx.actor, reseller=ctx.reseller, livemode=livemode)
    text = check_text(check)
    if request.headers.get("HX-Request"):
        keys = stripe_keys_of(ctx.reseller, actor=ctx.actor)[livemode]
        panel = _panel(request, ctx, mode, keys)
        panel.check, panel.check_text = check, text
        return _page(request, ctx, "dashboard/settings/_stripe_check.html", panel=panel)
    (messages.success if check.ok else messages.error)(request, text)
    return tab_redirect("payments")


@require_POST
@dashboard_view(Perm.PAYMENTS_SETTINGS)
def settings_payments_remove_view(request: HttpRequest, ctx: Context, mode: str) -> HttpResponse:
    livemode = _livemode(mode)
    if stripe_keys_remove(actor=ctx.actor, reseller=ctx.reseller, livemode=livemode):
        messages.success(request, _("Stripe keys for %(mode)s removed: card payments are off "
                                    "in it.") % {"mode": mode_label(livemode)})
    return tab_redirect("payments")

