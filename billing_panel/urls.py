from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from apps.core.views import healthz

admin.site.site_header = "Billing panel: provider administration"
admin.site.site_title = "Billing panel"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.api.urls")),
]
