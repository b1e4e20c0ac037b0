# The security watch: the account's own states (banned, frozen) as health results.

from django.db import migrations, models

HEALTH_CHOICES = [
    ("unknown", "not checked yet"),
    ("healthy", "healthy"),
    ("idle", "nothing to watch"),
    ("connector_gone", "connector session gone"),
    ("object_changed", "object changed outside the dashboard"),
    ("dashboard_key_lost", "dashboard key lost"),
    ("unreachable", "store or Telegram unreachable"),
    ("account_banned", "account banned or deleted"),
    ("account_frozen", "account frozen"),
    ("busy", "not checked: instance busy"),
]


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0019_instance_proxy")]

    operations = [
        migrations.AlterField(
            model_name="healthcheck",
            name="result",
            field=models.CharField(choices=HEALTH_CHOICES, max_length=20),
        ),
        migrations.AlterField(
            model_name="instancehealth",
            name="state",
            field=models.CharField(choices=HEALTH_CHOICES, default="unknown", max_length=20),
        ),
    ]
