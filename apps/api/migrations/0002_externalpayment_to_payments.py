"""ExternalPayment moves to apps.payments with its rows: the table is renamed here and the
model leaves the api app's state; payments 0001 takes it over without touching the table."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="externalpayment", table="payments_externalpayment"),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ExternalPayment")],
        ),
    ]
