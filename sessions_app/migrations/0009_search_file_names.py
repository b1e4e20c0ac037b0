"""Search finds media file names: the full-text indexes gain the message's media_file_name.

SQLite: the FTS5 table of 0003 is dropped and created again with a third column (and triggers
that keep it in step), then rebuilt from the messages already archived. The column list and bm25
weights in sessions_app/search/sqlite.py (FTS_COLUMNS) must match this table. PostgreSQL: the GIN
expression index is created again with the file name in its expression, its words split on every
character that is not a letter or digit (the default parser reads `report_2024.pdf` as a single
host name); sessions_app/search/postgresql.py repeats the expression (DOCUMENT).

The SQL is written out here, not imported, so this migration keeps doing what it did when the
search code moves on. Reversing puts back 0003's two-column index, rebuilt.
"""

from django.db import migrations

_DROP_SQLITE = [
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_update",
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_delete",
    "DROP TRIGGER IF EXISTS sessions_app_message_fts_insert",
    "DROP TABLE IF EXISTS sessions_app_message_fts",
]


SQLITE_FORWARD = [
    *_DROP_SQLITE,
    """
    CREATE VIRTUAL TABLE sessions_app_message_fts USING fts5(
        text, sender_name, media_file_name,
        content='sessions_app_message', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER sessions_app_message_fts_insert AFTER INSERT ON sessions_app_message BEGIN
        INSERT INTO sessions_app_message_fts (rowid, text, sender_name, media_file_name)
        VALUES (new.id, new.text, new.sender_name, new.media_file_name);
    END
    """,
    # An external-content table must be told the old values to remove them, exactly as indexed.
    """
    CREATE TRIGGER sessions_app_message_fts_delete AFTER DELETE ON sessions_app_message BEGIN
        INSERT INTO sessions_app_message_fts (sessions_app_message_fts, rowid, text, sender_name, media_file_name)
        VALUES ('delete', old.id, old.text, old.sender_name, old.media_file_name);
    END
    """,
    # Upserts (INSERT … ON CONFLICT DO UPDATE) fire this too; the WHEN clause keeps unchanged
    # rows out of the index's write path.
    """
    CREATE TRIGGER sessions_app_message_fts_update
    AFTER UPDATE OF id, text, sender_name, media_file_name ON sessions_app_message
    WHEN old.id IS NOT new.id OR old.text IS NOT new.text OR old.sender_name IS NOT new.sender_name
        OR old.media_file_name IS NOT new.media_file_name
    BEGIN
        INSERT INTO sessions_app_message_fts (sessions_app_message_fts, rowid, text, sender_name, media_file_name)
        VALUES ('delete', old.id, old.text, old.sender_name, old.media_file_name);
        INSERT INTO sessions_app_message_fts (rowid, text, sender_name, media_file_name)
        VALUES (new.id, new.text, new.sender_name, new.media_file_name);
    END
    """,
    "INSERT INTO sessions_app_message_fts (sessions_app_message_fts) VALUES ('rebuild')",
]
# Back to 0003's table and triggers, as 0003 wrote them.
SQLITE_REVERSE = [
    *_DROP_SQLITE,
    """
    CREATE VIRTUAL TABLE sessions_app_message_fts USING fts5(
        text, sender_name,
        content='sessions_app_message', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    )
    """,
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

POSTGRESQL_FORWARD = [
    "DROP INDEX IF EXISTS sessions_app_message_search",
    """
    CREATE INDEX sessions_app_message_search ON sessions_app_message
    USING gin (to_tsvector('simple', coalesce(text, '') || ' ' || coalesce(sender_name, '') || ' '
        || regexp_replace(coalesce(media_file_name, ''), '[^[:alnum:]]+', ' ', 'g')))
    """,
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS sessions_app_message_search",
    """
    CREATE INDEX sessions_app_message_search ON sessions_app_message
    USING gin (to_tsvector('simple', coalesce(text, '') || ' ' || coalesce(sender_name, '')))
    """,
]

FORWARD = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}
REVERSE = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0008_audit_append_only")]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(REVERSE), elidable=False),
    ]
