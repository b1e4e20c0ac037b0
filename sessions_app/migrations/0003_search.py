"""Full-text search indexes for the message archive (see sessions_app/search/).

SQLite: an FTS5 external-content table over (text, sender_name) with content_rowid = message id,
kept in step by triggers, filled from the existing rows. PostgreSQL: a GIN expression index whose
expression sessions_app/search/postgresql.py repeats in its queries. The SQL is written out here,
not imported, so this migration keeps doing what it did when the search code moves on.
"""

from django.db import migrations

SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE sessions_app_message_fts USING fts5(
        text, sender_name,
        content='sessions_app_message', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    # An external-content table must be told the old values to remove them, exactly as indexed.
    """
    CREATE TRIGGER sessions_app_message_fts_insert AFTER INSERT ON sessions_app_message BEGIN
        INSERT INTO sessions_app_message_fts (rowid, text, sender_name)
        VALUES (new.id, new.text, new.sender_name);
    END
    """,
    """
    CREATE TRIGGER sessions_app_message_fts_delete AFTER DELETE ON sessions_app_message BEGIN
        INSERT INTO sessions_app_message_fts (sessions_app_message_fts, rowid, text, sender_name)
        VALUES ('delete', old.id, old.text, old.sender_name);
    END
    """,
    # Upserts (INSERT … ON CONFLICT DO UPDATE) fire this too. Re-archiving rewrites every row;
    # the WHEN clause keeps unchanged text out of the index's write path.
    """
    CREATE TRIGGER sessions_app_message_fts_update AFTER UPDATE OF id, text, sender_name ON sessions_app_message
    WHEN old.id IS NOT new.id OR old.text IS NOT new.text OR old.sender_name IS NOT new.sender_name
    BEGIN
        INSERT INTO sessions_app_message_fts (sessions_app_message_fts, rowid, text, sender_name)
        VALUES ('delete', old.id, old.text, old.sender_name);
        INSERT INTO sessions_app_message_fts (rowid, text, sender_name)
        VALUES (new.id, new.text, new.sender_name);
    END
    """,
    "INSERT INTO sessions_app_message_fts (sessions_app_message_fts) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_update",
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_delete",
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_insert",
    "DROP TABLE IF EXISTS sessions_app_message_fts",
]

POSTGRESQL_FORWARD = [
    """
    CREATE INDEX sessions_app_message_search ON sessions_app_message
    USING gin (to_tsvector('simple', coalesce(text, '') || ' ' || coalesce(sender_name, '')))
    """,
]
POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS sessions_app_message_search"]

FORWARD = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}
REVERSE = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("sessions_app", "0002_archive"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(REVERSE), elidable=False),
    ]
