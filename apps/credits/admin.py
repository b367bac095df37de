from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from apps.accounts.models import Reseller
from apps.core.admin_utils import ReadOnlyAdmin, actor_of
from apps.core.currencies import CURRENCY_CHOICES
from apps.core.errors import DomainError

from .models import CreditLedgerEntry
from .services import credits_adjust, credits_grant


class CreditGrantForm(forms.Form):
    reseller = forms.ModelChoiceField(queryset=Reseller.objects.all())
    amount = forms.IntegerField(min_value=1, help_text="Credits to add.")
    reference = forms.CharField(max_length=200, help_text="Order or invoice number.")
    price_amount = forms.IntegerField(
        min_value=0, required=False, help_text="What the reseller paid, in minor units (cents)."
    )
    price_currency = forms.ChoiceField(choices=[("", "—"), *CURRENCY_CHOICES], required=False)
    livemode = forms.BooleanField(initial=True, required=False,
                                  help_text="Untick to add test-mode credits.")
    # Makes a double-submitted form a no-op: the same key has no second effect.
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


class CreditAdjustForm(forms.Form):
    reseller = forms.ModelChoiceField(queryset=Reseller.objects.all())
    delta = forms.IntegerField(help_text="Signed: negative takes credits away.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    livemode = forms.BooleanField(initial=True, required=False)
    idempotency_key = forms.CharField(widget=forms.HiddenInput)


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "reseller", "livemode", "kind", "delta", "balance_after",
                    "reference", "account", "actor_label")
    list_filter = ("kind", "livemode", "reseller")
    search_fields = ("reference", "idempotency_key", "reason", "account__username")
    date_hierarchy = "created_at"
    list_select_related = ("reseller", "account")
    change_list_template = "admin/credits/ledger_change_list.html"

    def get_urls(self) -> list[URLPattern]:
        return [
            path("grant/", self.admin_site.admin_view(self.grant_view), name="credits_grant"),
            path("adjust/", self.admin_site.admin_view(self.adjust_view), name="credits_adjust"),
            *super().get_urls(),
        ]

    def _form_view(
        self, request: HttpRequest, form_class: type[forms.Form], title: str, call: Any
    ) -> HttpResponse:
        import uuid

        if not request.user.is_staff:  # the provider's staff only
            return HttpResponseRedirect(reverse("admin:login"))
        if request.method == "POST":
            form = form_class(request.POST)
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
                    return HttpResponseRedirect(reverse("admin:credits_creditledgerentry_changelist"))
        else:
            form = form_class(initial={"idempotency_key": uuid.uuid4().hex, "livemode": True})
        context = {**self.admin_site.each_context(request), "title": title, "form": form,
                   "opts": self.model._meta}
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
