from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sessions_app", "0006_health"),
    ]

    operations = [
        migrations.AddField(
            model_name="archiverun",
            name="worker_host",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="archiverun",
            name="worker_pid",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
