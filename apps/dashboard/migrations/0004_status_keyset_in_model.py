"""The status keyset index is the account model's own now (account_status_keyset)."""

from django.db import migrations


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS dash_account_status_keyset")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS dash_account_status_keyset ON subscriptions_serviceaccount "
        "(reseller_id, livemode, status, expires_at, id)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_status_keyset_index"),
        ("subscriptions", "0006_account_indexes_once"),
    ]

    operations = [migrations.RunPython(drop, create)]
