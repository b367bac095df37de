from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0006_account_indexes_once'),
    ]

    operations = [
        migrations.AddField(
            model_name='subscriber',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Español')], default='en', max_length=10),
        ),
    ]
