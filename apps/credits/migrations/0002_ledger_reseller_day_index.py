from django.db import migrations, models


class Migration(migrations.Migration):
    """The overview's credits per day read a range of days from this index alone."""

    dependencies = [
        ("credits", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="creditledgerentry",
            index=models.Index(fields=["reseller", "livemode", "created_at"], include=("delta",),
                               name="ledger_reseller_day"),
        ),
    ]
