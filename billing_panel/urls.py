from django.contrib import admin
from django.urls import include, path, re_path

from apps.api.errors import api_not_found, error_handler
from apps.core.views import healthz

admin.site.site_header = "Billing panel: provider administration"
admin.site.site_title = "Billing panel"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("apps.api.urls")),
    # Every other path under /api/, any method: the API's JSON 404, never an HTML page
    # (with DEBUG on too, where Django's technical 404 would come before handler404).
    re_path(r"^api(?:/|$)", api_not_found, name="api-not-found"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("apps.payments.urls")),
    path("", include("apps.dashboard.urls")),
]

# JSON in the API's error shape under /api/, Django's own pages elsewhere.
handler400 = error_handler(400)
handler403 = error_handler(403)
handler404 = error_handler(404)
handler500 = error_handler(500)
