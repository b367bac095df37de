from django.contrib import admin

from apps.core.admin_utils import ReadOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "reseller", "actor_label", "action", "object_type", "object_id",
                    "ip")
    list_filter = ("action", "actor_type", "reseller")
    search_fields = ("actor_label", "object_id", "action")
    date_hierarchy = "created_at"
