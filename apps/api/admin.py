from django.contrib import admin

from .models import ApiKey, WebhookDelivery, WebhookEndpoint


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "reseller", "mode", "last_used_at", "revoked_at"]
    list_filter = ["mode"]
    search_fields = ["prefix", "name", "reseller__slug"]
    readonly_fields = [f.name for f in ApiKey._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False  # keys are made by the service (shown once): manage.py create_api_key


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "reseller", "livemode", "is_active", "deleted_at"]
    readonly_fields = ["secret_encrypted"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["event_type", "endpoint", "status", "attempts", "last_status_code"]
    list_filter = ["status", "event_type"]

