import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_panel.settings.base")

app = Celery("billing_panel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
