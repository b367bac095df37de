"""Indexes the subscriber list needs at a million accounts.

They live on the subscriptions tables but serve only the dashboard's list, so
they are made here (PostgreSQL only; the embedded SQLite runs without them):
keyset orders per reseller, the plan filter, and trigram indexes for the
contains-search on names, emails and usernames.
"""

from django.db import migrations

INDEXES = [
    "CREATE INDEX IF NOT EXISTS dash_account_expiry_keyset ON subscriptions_serviceaccount "
    "(reseller_id, livemode, expires_at, id)",
    "CREATE INDEX IF NOT EXISTS dash_account_newest_keyset ON subscriptions_serviceaccount "
    "(reseller_id, livemode, id)",
    "CREATE INDEX IF NOT EXISTS dash_account_username_keyset ON subscriptions_serviceaccount "
    "(reseller_id, livemode, username, id)",
    "CREATE INDEX IF NOT EXISTS dash_account_plan ON subscriptions_serviceaccount "
    "(reseller_id, livemode, plan_id, expires_at, id)",
    "CREATE INDEX IF NOT EXISTS dash_account_username_trgm ON subscriptions_serviceaccount "
    "USING gin ((UPPER(username::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS dash_subscriber_name_trgm ON subscriptions_subscriber "
    "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS dash_subscriber_email_trgm ON subscriptions_subscriber "
    "USING gin ((UPPER(email::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS dash_subscriber_external_id ON subscriptions_subscriber "
    "(reseller_id, external_id)",
]
NAMES = [
    "dash_account_expiry_keyset", "dash_account_newest_keyset", "dash_account_username_keyset",
    "dash_account_plan", "dash_account_username_trgm", "dash_subscriber_name_trgm",
    "dash_subscriber_email_trgm", "dash_subscriber_external_id",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in INDEXES:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in NAMES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_initial"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
