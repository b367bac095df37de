"""The status keyset index is the account model's own now (account_status_keyset):
this undoes 0003, whose functions it runs the other way round."""

from importlib import import_module

from django.db import migrations

previous = import_module("apps.dashboard.migrations.0003_status_keyset_index")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_status_keyset_index"),
        ("subscriptions", "0006_account_indexes_once"),
    ]

    operations = [migrations.RunPython(previous.drop, previous.create)]
