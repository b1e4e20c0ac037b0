# Dialogs a run could not read (skipped with a reason), basic groups upgraded to supergroups.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0014_login_code_types")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(
            model_name="dialog",
            name="skip_reason",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="dialog",
            name="migrated_to",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="sessions_app.dialog",
            ),
        ),
        migrations.AddField(
            model_name="archiverun",
            name="dialogs_skipped",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
