"""PostgreSQL: the instance list's search text goes into its two ordering indexes.

A search for a common piece of text ("ops", "support": a fifth of a 10,000-instance fleet) did not
use the trigram index (too many matches) and read every instance row instead: 13 MB of wide
rows (encrypted sessions among them), each taken apart to reach its last column, 14-20 ms for the
page's count alone. With `list_search_text` in the index that orders the list by SESSION (and
the one by name), the count and the page's ids are index-only scans that test the text in the
index: 1 MB, 3-6 ms. The trigram index stays for rare text, where it reads only the matches.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_session",
    "CREATE INDEX sessions_app_instance_list_by_session ON sessions_app_connectorinstance "
    "(session) INCLUDE (id, list_search_text)",
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_name",
    "CREATE INDEX sessions_app_instance_list_by_name ON sessions_app_connectorinstance "
    "(lower(name), session) INCLUDE (name, id, list_search_text)",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_session",
    "CREATE INDEX sessions_app_instance_list_by_session ON sessions_app_connectorinstance (session) INCLUDE (id)",
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_name",
    "CREATE INDEX sessions_app_instance_list_by_name ON sessions_app_connectorinstance "
    "(lower(name), session) INCLUDE (name, id)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0023_search_recent_matches"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRESQL_FORWARD), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
