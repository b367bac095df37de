import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.base")
site = get_wsgi_application()  # sets Django up; the API handler's imports need that first

from apps.api.wsgi import ApiHandler, by_path  # noqa: E402

application = by_path(api=ApiHandler(), site=site)
