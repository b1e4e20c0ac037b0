"""The archive pipeline writes every message through each index: the two redundant ones go.

Message's foreign keys had an index each, which every archived row paid for. Lookups by instance
use the unique constraint (instance, peer_id, message_id) and lookups by dialog (its pages, the
cascade on delete) use message_keyset (dialog, -message_id), both led by the same column.

Only the indexes are dropped (same names on SQLite and PostgreSQL): an AlterField would make
SQLite copy the whole table, which drops the full-text triggers with it.
"""

import django.db.models.deletion
from django.db import migrations, models

_INDEXES = {
    "sessions_app_message_instance_id_ba6985f2": "instance_id",
    "sessions_app_message_dialog_id_8f471471": "dialog_id",
}


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0009_search_file_names")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    f'CREATE INDEX {name} ON "sessions_app_message" ("{column}")',
                )
                for name, column in _INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="instance",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="sessions_app.connectorinstance",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="dialog",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="sessions_app.dialog",
                    ),
                ),
            ],
        ),
    ]
