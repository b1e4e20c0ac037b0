# Each instance's own egress: its proxy URL (encrypted) and the masked scheme://host:port pages show.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import sessions_app.crypto


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0018_alert_channels"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="InstanceProxy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("url", sessions_app.crypto.EncryptedTextField(blank=True, default="", editable=False)),
                ("masked", models.CharField(max_length=300)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "instance",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="own_proxy",
                        to="sessions_app.connectorinstance",
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
