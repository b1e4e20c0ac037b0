"""PostgreSQL: the search document becomes a stored column, and the GIN index indexes that column.

Until now the GIN index was over an expression (0009), so every row a query looked at again (a
lossy bitmap's recheck, ranking, a walk down the primary key) parsed its text anew: a word in
most messages took half a second. The stored tsvector is parsed once, when the row is written
(as the index was), and then read: ts_rank_cd() and the recheck use it as it is, and the planner
gets per-word statistics for it. The index keeps its name. sessions_app/search/postgresql.py
names the column (DOCUMENT_COLUMN); the expression is 0009's, word for word, so ranks and
matches stay the same. SQLite is untouched (its FTS5 table is already an index of words).

Adding a generated column rewrites the message table once, under an exclusive lock: on a big
archive, run this migration in a maintenance window.
"""

from django.db import migrations

DOCUMENT = (
    "to_tsvector('simple'::regconfig, coalesce(text, '') || ' ' || coalesce(sender_name, '') || ' ' "
    "|| regexp_replace(coalesce(media_file_name, ''), '[^[:alnum:]]+', ' ', 'g'))"
)

POSTGRESQL_FORWARD = [
    "DROP INDEX IF EXISTS sessions_app_message_search",
    f"ALTER TABLE sessions_app_message ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({DOCUMENT}) STORED",
    "CREATE INDEX sessions_app_message_search ON sessions_app_message USING gin (search_document)",
]
POSTGRESQL_REVERSE = [  # 0009's index over the expression
    "DROP INDEX IF EXISTS sessions_app_message_search",
    "ALTER TABLE sessions_app_message DROP COLUMN IF EXISTS search_document",
    f"CREATE INDEX sessions_app_message_search ON sessions_app_message USING gin ({DOCUMENT})",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0015_archive_dialogs")]

    operations = [
        migrations.RunPython(_run(POSTGRESQL_FORWARD), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
