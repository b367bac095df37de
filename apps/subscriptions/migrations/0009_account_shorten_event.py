"""The account event of a refund that takes its months back."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscriptions', '0008_account_currency'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accountevent',
            name='action',
            field=models.CharField(choices=[('create', 'Created'), ('activate', 'Activated'), ('renew', 'Renewed'), ('renewal_queued', 'Renewal waiting for credits'), ('expire', 'Expired (grace)'), ('suspend', 'Suspended'), ('unsuspend', 'Unsuspended'), ('terminate', 'Terminated'), ('change_plan', 'Plan changed'), ('schedule_plan_change', 'Plan change scheduled'), ('set_auto_renew', 'Auto-renew changed'), ('set_renewal', 'Renewal period or source changed'), ('shorten', 'Period shortened (refund)'), ('reset_password', 'Password reset')], max_length=30),
        ),
    ]
