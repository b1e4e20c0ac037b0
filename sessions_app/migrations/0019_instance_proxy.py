# Placeholder: filled by the change that owns it.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0018_alert_channels")]

    operations: list[migrations.operations.base.Operation] = []
