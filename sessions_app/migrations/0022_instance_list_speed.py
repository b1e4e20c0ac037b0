"""The instance list on a big fleet: a folded search column, a trigram index on PostgreSQL, health by state.

The list's search (selectors.instances.instances_matching) folded the case of three or four columns
of every visible instance on every request, twice (the page and its count): on PostgreSQL, with
10,000 instances, 20 ms a query. `list_search_text` is that text folded once, when a row is written
(a stored generated column on both engines). On PostgreSQL a GIN trigram index (pg_trgm, a trusted
extension: the database owner may create it) answers `LIKE '%…%'` on it without reading every row.
Without the right to create the extension the migration stops and says so: ask for
`CREATE EXTENSION pg_trgm` once, then migrate again.

`InstanceHealth.state` gets an index: the "needs attention" count and the health filters look for
the few instances in a state; `checked_at` one for the "last checked" sort, which reads the
checked instances in their checks' order (selectors.instances._CheckedOrder).

Adding a generated column rewrites the instance table once (seconds for 10,000 instances).
"""

import django.db.models.functions.text
from django.db import DatabaseError, migrations, models

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX sessions_app_instance_list_search ON sessions_app_connectorinstance "
    "USING gin (list_search_text gin_trgm_ops)",
    # The list pages through ids in the sort's order (selectors.instances.InstancePaginator): with
    # the id in the index, a page reads the index alone, even the last page of 10,000 instances.
    "CREATE INDEX sessions_app_instance_list_by_session ON sessions_app_connectorinstance (session) INCLUDE (id)",
    # The name sort; `name` is included because PostgreSQL reads lower(name) from an index alone
    # only when the column itself is in it too.
    "CREATE INDEX sessions_app_instance_list_by_name ON sessions_app_connectorinstance "
    "(lower(name), session) INCLUDE (name, id)",
    # A health filter with the "last checked" sort: the checks in that state in their order.
    "CREATE INDEX sessions_app_instance_health_by_check ON sessions_app_instancehealth "
    "(state, checked_at, instance_id)",
]
# The extension stays: other objects of the database may use it.
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS sessions_app_instance_list_search",
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_session",
    "DROP INDEX IF EXISTS sessions_app_instance_list_by_name",
    "DROP INDEX IF EXISTS sessions_app_instance_health_by_check",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            try:
                schema_editor.execute(statement, params=None)
            except DatabaseError as error:
                if "EXTENSION" not in statement:
                    raise
                raise RuntimeError(
                    "This migration needs PostgreSQL's pg_trgm extension, and this database user may not "
                    "create it. Ask the database's owner to run CREATE EXTENSION pg_trgm; once, then "
                    f"migrate again. ({error})"
                ) from error

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0021_api_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="connectorinstance",
            name="list_search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        "session",
                        models.Value("\x1f"),
                        "name",
                        models.Value("\x1f"),
                        "telegram_name",
                        models.Value("\x1f@"),
                        "telegram_username",
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AlterField(
            model_name="instancehealth",
            name="state",
            field=models.CharField(
                choices=[
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
                ],
                db_index=True,
                default="unknown",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="instancehealth",
            name="checked_at",
            field=models.DateTimeField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(_run(POSTGRESQL_FORWARD), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
