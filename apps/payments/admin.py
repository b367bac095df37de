from django.contrib import admin

from .models import ExternalPayment


@admin.register(ExternalPayment)
class ExternalPaymentAdmin(admin.ModelAdmin):
    list_display = ["reference", "reseller", "account", "amount", "currency", "paid_at"]
