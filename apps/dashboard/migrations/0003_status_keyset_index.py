"""The status filter pages in (expires_at, id) order: give it the id too."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS dash_account_status_keyset ON subscriptions_serviceaccount "
        "(reseller_id, livemode, status, expires_at, id)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS dash_account_status_keyset")


class Migration(migrations.Migration):
    dependencies = [("dashboard", "0002_list_indexes")]

    operations = [migrations.RunPython(create, drop)]
