import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def templates_in_their_resellers_language(apps, schema_editor):
    """A template written before languages existed is in its reseller's language."""
    template = apps.get_model("notifications", "NotificationTemplate")
    reseller = apps.get_model("accounts", "Reseller")
    template.objects.update(language=Subquery(
        reseller.objects.filter(pk=OuterRef("reseller_id")).values("language")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_reseller_language'),
        ('notifications', '0002_outbox_context'),
        ('subscriptions', '0007_subscriber_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='notificationtemplate',
            name='template_once_per_event',
        ),
        migrations.RemoveConstraint(
            model_name='outboxmessage',
            name='outbox_status_valid',
        ),
        migrations.AddField(
            model_name='notificationtemplate',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Español')], default='en', max_length=10),
        ),
        migrations.RunPython(templates_in_their_resellers_language, migrations.RunPython.noop),
        migrations.AddField(
            model_name='outboxmessage',
            name='discarded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='discarded_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='discarded_by_user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Español')], db_default='en', default='en', max_length=10),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('not_sent_no_email_backend', 'Not sent: no email delivery set up'), ('stale', 'Not sent: too late to be useful'), ('disabled', 'Not sent: event turned off'), ('unknown', 'Outcome unknown (worker stopped while sending)'), ('discarded', 'Not sent: discarded by the reseller')], default='queued', max_length=30),
        ),
        migrations.AddConstraint(
            model_name='notificationtemplate',
            constraint=models.UniqueConstraint(fields=('reseller', 'event', 'language'), name='template_once_per_event_language'),
        ),
        migrations.AddConstraint(
            model_name='outboxmessage',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'sending', 'sent', 'failed', 'not_sent_no_email_backend', 'stale', 'disabled', 'unknown', 'discarded'])), name='outbox_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='outboxmessage',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('status', 'discarded'), _negated=True), models.Q(('discarded_at__isnull', False), models.Q(('discarded_by', ''), _negated=True)), _connector='OR'), name='outbox_discarded_has_who_and_when'),
        ),
    ]
