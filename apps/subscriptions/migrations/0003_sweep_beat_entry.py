"""The renewal sweep's beat entry, in django-celery-beat's tables (editable in the admin)."""

from django.conf import settings
from django.db import migrations

TASK = "subscriptions.sweep"
NAME = "renewal-sweep"


def create_entry(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    minutes = getattr(settings, "SWEEP_INTERVAL_MINUTES", 15)
    schedule, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": schedule,
            "enabled": True,
            "description": "Auto-renewals, expiry, grace, suspension, termination, reminders "
            "and credit-floor alerts (apps.subscriptions.sweep).",
        },
    )
    # Tell a running beat that its schedule changed.
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove_entry(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0002_lifecycle_automation"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_entry, remove_entry)]
