from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.accounts.models import Reseller
from apps.core.admin_utils import ReadOnlyAdmin, actor_of, currency_choices, money_column
from apps.core.errors import DomainError
from apps.core.forms import MoneyField, MoneyFormMixin

from .models import CreditLedgerEntry, EntryKind
from .services import credits_adjust, credits_grant


def _reseller_from(request: HttpRequest) -> Reseller | None:
    """The reseller the page was opened for (?reseller=<id>, from its admin page), if any."""
    wanted = request.GET.get("reseller", "")
    return Reseller.objects.filter(pk=int(wanted)).first() if wanted.isdigit() else None


def _price_currencies(reseller: Reseller | None) -> list[tuple[str, str]]:
    """The reseller's base currency and those of its earlier purchases first, then the
    others the panel's resellers use: what a provider bills in, not all 160 codes."""
    own: list[str] = []
    if reseller is not None:
        own = [reseller.base_currency, *CreditLedgerEntry.objects.filter(
            reseller=reseller, kind=EntryKind.PURCHASE).exclude(price_currency="")
            .order_by("price_currency").values_list("price_currency", flat=True).distinct()]
    panel = sorted({
        *Reseller.objects.values_list("base_currency", flat=True).distinct(),
        *CreditLedgerEntry.objects.filter(kind=EntryKind.PURCHASE).exclude(price_currency="")
        .values_list("price_currency", flat=True).distinct(),
    })
    return currency_choices(own, panel)


class ResellerCreditForm(forms.Form):
    """A credit form, knowing which reseller's page opened it (None: the ledger's)."""

    def __init__(self, *args: Any, for_reseller: Reseller | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.for_reseller = for_reseller


class CreditGrantForm(MoneyFormMixin, ResellerCreditForm):
    reseller = forms.ModelChoiceField(queryset=Reseller.objects.all())
    amount = forms.IntegerField(min_value=1, help_text="Credits to add.")
    reference = forms.CharField(max_length=200, help_text="Order or invoice number.")
    price_amount = MoneyField(
        currency_field="price_currency", required=False,
        help_text="What the reseller paid, as written on the invoice: 12.50 or 12,50.",
    )
    price_currency = forms.ChoiceField(
        choices=[], required=False,
        help_text="The currencies the panel's resellers use; a reseller's own come first.",
    )
    livemode = forms.BooleanField(initial=True, required=False,
                                  help_text="Untick to add test-mode credits.")
    # Makes a double-submitted form a no-op: the same key has no second effect.
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, for_reseller: Reseller | None = None, **kwargs: Any) -> None:
        super().__init__(*args, for_reseller=for_reseller, **kwargs)
        price_currency = cast(forms.ChoiceField, self.fields["price_currency"])
        price_currency.choices = [("", "—"), *_price_currencies(for_reseller)]


class CreditAdjustForm(ResellerCreditForm):
    reseller = forms.ModelChoiceField(queryset=Reseller.objects.all())
    delta = forms.IntegerField(help_text="Signed: negative takes credits away.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    livemode = forms.BooleanField(initial=True, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "reseller", "livemode", "kind", "delta", "balance_after",
                    "price", "reference", "account", "actor_label")
    list_filter = ("kind", "livemode", "reseller")
    search_fields = ("reference", "idempotency_key", "reason", "account__username")
    date_hierarchy = "created_at"
    list_select_related = ("reseller", "account")
    change_list_template = "admin/credits/ledger_change_list.html"

    price = money_column("price_amount", "price_currency", description="price paid")
    # The detail page shows the price formatted in place of its two raw columns.
    fields = ("reseller", "livemode", "kind", "delta", "balance_after", "price", "reference",
              "reason", "idempotency_key", "subscriber", "account", "reverses", "actor_type",
              "actor_user", "actor_api_key_id", "actor_label", "created_at")
    readonly_fields = ("price",)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("grant/", self.admin_site.admin_view(self.grant_view), name="credits_grant"),
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="credits_adjust"),
            *super().get_urls(),
        ]

    def _form_view(
        self, request: HttpRequest, form_class: type[ResellerCreditForm],
        title: str, call: Any,
    ) -> HttpResponse:
        if not request.user.is_staff:  # the provider's staff only
            return HttpResponseRedirect(reverse("admin:login"))
        # Opened from a reseller's admin page: that reseller is chosen, and the page
        # goes back there once done.
        for_reseller = _reseller_from(request)
        if request.method == "POST":
            form = form_class(request.POST, for_reseller=for_reseller)
            if form.is_valid():
                try:
                    entry = call(form.cleaned_data)
                except DomainError as error:
                    field = error.param if error.param in form.fields else None
                    form.add_error(field, f"{error.message} ({error.code})")
                else:
                    self.message_user(
                        request, f"{entry.kind} of {entry.delta:+d} credits for "
                        f"{entry.reseller}: balance {entry.balance_after}.", messages.SUCCESS,
                    )
                    if for_reseller is not None:
                        return HttpResponseRedirect(reverse("admin:accounts_reseller_change",
                                                            args=[for_reseller.pk]))
                    return HttpResponseRedirect(reverse("admin:credits_creditledgerentry_changelist"))
        else:
            initial: dict[str, Any] = {"idempotency_key": uuid.uuid4().hex, "livemode": True}
            if for_reseller is not None:
                initial |= {"reseller": for_reseller.pk,
                            "price_currency": for_reseller.base_currency}
            form = form_class(initial=initial, for_reseller=for_reseller)
        context = {**self.admin_site.each_context(request), "title": title, "form": form,
                   "opts": self.model._meta, "for_reseller": for_reseller}
        return TemplateResponse(request, "admin/credits/credit_form.html", context)

    def grant_view(self, request: HttpRequest) -> HttpResponse:
        def call(data: dict[str, Any]) -> CreditLedgerEntry:
            return credits_grant(
                actor=actor_of(request), reseller=data["reseller"], amount=data["amount"],
                reference=data["reference"], idempotency_key=f"admin:{data['idempotency_key']}",
                price_amount=data["price_amount"], price_currency=data["price_currency"] or "",
                livemode=data["livemode"],
            )

        return self._form_view(request, CreditGrantForm, "Grant credits", call)

    def adjust_view(self, request: HttpRequest) -> HttpResponse:
        def call(data: dict[str, Any]) -> CreditLedgerEntry:
            return credits_adjust(
                actor=actor_of(request), reseller=data["reseller"], delta=data["delta"],
                reason=data["reason"], idempotency_key=f"admin:{data['idempotency_key']}",
                livemode=data["livemode"],
            )

        return self._form_view(request, CreditAdjustForm, "Adjust credits", call)
