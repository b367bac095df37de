from django.contrib import admin

from .models import Device, Note, SupportInteraction


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "author_label", "pinned", "created_at"]
    list_filter = ["reseller"]
    readonly_fields = ["reseller", "subscriber", "author", "author_label", "created_at"]


@admin.register(SupportInteraction)
class SupportInteractionAdmin(admin.ModelAdmin):
    list_display = ["subject", "subscriber", "channel", "status", "created_at"]
    list_filter = ["reseller", "status", "channel"]
    search_fields = ["subject"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["device_type", "app", "device_id", "subscriber", "last_seen_at"]
    list_filter = ["reseller"]
