from django.contrib import admin

from apps.core.admin_utils import ReadOnlyAdmin, money_column

from .models import ExternalPayment


@admin.register(ExternalPayment)
class ExternalPaymentAdmin(ReadOnlyAdmin):
    """Recorded by payment_record (the API, the dashboard); a payment is never edited here."""

    list_display = ["reference", "reseller", "account", "amount_paid", "paid_at"]
    # The currencies payments were taken in, not every ISO 4217 code.
    list_filter = ["reseller", ("currency", admin.AllValuesFieldListFilter)]
    search_fields = ["reference"]
    list_select_related = ["reseller", "account"]

    amount_paid = money_column("amount", "currency", description="amount")
    # The detail page shows the amount formatted in place of its two raw columns.
    fields = ["reseller", "account", "livemode", "amount_paid", "reference", "paid_at",
              "created_at", "api_key"]
    readonly_fields = ["amount_paid"]
