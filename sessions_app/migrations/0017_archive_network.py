# Requests a health check hands to the archive run holding the dashboard's connection.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0016_archive_postgresql")]

    operations = [
        migrations.CreateModel(
            name="ServedRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("session", models.CharField(db_index=True, max_length=64)),
                ("holder", models.CharField(max_length=100)),
                ("method", models.CharField(max_length=60)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("answered_at", models.DateTimeField(blank=True, null=True)),
                ("answer", models.JSONField(blank=True, null=True)),
                ("error", models.TextField(blank=True)),
            ],
            options={
                "indexes": [models.Index(fields=["session", "holder", "answered_at"], name="served_request_pending")],
            },
        ),
    ]
