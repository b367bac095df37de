from django.contrib import admin

from apps.core.admin_utils import ReadOnlyAdmin

from .models import ExternalPayment


@admin.register(ExternalPayment)
class ExternalPaymentAdmin(ReadOnlyAdmin):
    """Recorded by payment_record (the API, the dashboard); a payment is never edited here."""

    list_display = ["reference", "reseller", "account", "amount", "currency", "paid_at"]
    # The currencies payments were taken in, not every ISO 4217 code.
    list_filter = ["reseller", ("currency", admin.AllValuesFieldListFilter)]
    search_fields = ["reference"]
    list_select_related = ["reseller", "account"]
