# Placeholder kept in the chain so that parallel work can land in order; filled in by its change.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0014_login_code_types")]

    operations: list[migrations.operations.base.Operation] = []
