# Placeholder kept in the chain so that parallel work can land in order; filled in by its change.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0016_archive_postgresql")]

    operations: list[migrations.operations.base.Operation] = []
