from django.contrib import admin

from apps.core.admin_utils import ReadOnlyAdmin, money_column

from .models import ExternalPayment, Payment, Refund, StripeEvent, WalletEntry


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


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    """Payments through the panel; every change goes through apps.payments.charges."""

    list_display = ["id", "reseller", "subscriber", "source", "purpose", "state", "amount_paid",
                    "livemode", "created_at"]
    list_filter = ["state", "source", "purpose", "livemode", "reseller"]
    search_fields = ["reference", "stripe_payment_intent", "idempotency_key"]
    list_select_related = ["reseller", "subscriber"]
    amount_paid = money_column("amount", "currency", description="amount")
    readonly_fields = ["amount_paid"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "reseller", "payment", "destination", "state", "amount_refunded",
                    "created_at"]
    list_filter = ["state", "destination", "reseller"]
    list_select_related = ["reseller", "payment"]
    amount_refunded = money_column("amount", "currency", description="amount")


@admin.register(WalletEntry)
class WalletEntryAdmin(ReadOnlyAdmin):
    """The wallet ledger: append-only, as the credit ledger."""

    list_display = ["id", "reseller", "subscriber", "kind", "moved", "balance", "created_at"]
    list_filter = ["kind", "livemode", "reseller"]
    search_fields = ["idempotency_key", "reference"]
    list_select_related = ["reseller", "subscriber"]
    moved = money_column("delta", "currency", description="amount")
    balance = money_column("balance_after", "currency", description="balance after")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    """Stripe's webhooks as received, once per event id."""

    list_display = ["stripe_id", "reseller", "livemode", "type", "received_at", "result"]
    list_filter = ["type", "livemode", "reseller"]
    search_fields = ["stripe_id", "object_id"]
    list_select_related = ["reseller"]
