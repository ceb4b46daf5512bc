from django.db import migrations, models
from django.db.models import F


def mark_sent(apps, schema_editor):
    """Before this migration the provider was asked on the web request itself: every mobile or card
    payment and every refund past approval has been sent."""
    apps.get_model("payments", "Payment").objects.exclude(method="cash").update(sent_at=F("created_at"))
    apps.get_model("payments", "Refund").objects.exclude(status="pending_approval").update(sent_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0004_unconfirmed_and_refund_checks'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalpayment',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='historicalrefund',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='payment',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='refund',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_sent, migrations.RunPython.noop),
    ]
