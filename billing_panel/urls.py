from django.contrib import admin
from django.urls import include, path

from apps.core.views import healthz

admin.site.site_header = "Billing panel: provider administration"
admin.site.site_title = "Billing panel"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("apps.dashboard.urls")),
]
