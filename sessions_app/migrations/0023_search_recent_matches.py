"""PostgreSQL: a function that reads a word's newest matches in an id range through a bitmap, never a walk.

The ranked window is a word's RANK_WINDOW newest matches. For a word in 1-5% of the messages the
planner walks the primary key down from the newest message and tests every row (280,000 rows for
`flight` in a 1,000,000-message archive: 150-300 ms), because it costs that walk as sequential
reads; reading the matches through the GIN index instead reads every match in the table (22,700
heap pages). sessions_app/search/postgresql.py estimates from the column's statistics the id
above which the window lies and asks this function for the matches in that range: with index
scans off (for this function's own query only) the plan is the GIN index's bitmap ANDed with the
primary key's range, which reads only the pages of the matches in the range (35-65 ms). Dynamic
SQL (EXECUTE … USING) plans with the actual values, as the search's other queries are planned.
SQLite is untouched.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """
    CREATE FUNCTION sessions_app_search_recent(
        query tsquery, instance bigint, floor_id bigint, ceiling_id bigint, lim integer
    ) RETURNS TABLE (id bigint, document tsvector)
    LANGUAGE plpgsql STABLE
    SET enable_indexscan = off
    SET max_parallel_workers_per_gather = 0
    AS $function$
    BEGIN
        RETURN QUERY EXECUTE
            'SELECT m.id, m.search_document FROM sessions_app_message AS m'
            ' WHERE m.search_document @@ $1 AND m.instance_id = $2 AND m.id BETWEEN $3 AND $4'
            ' ORDER BY m.id DESC LIMIT $5'
        USING query, instance, floor_id, ceiling_id, lim;
    END
    $function$
    """,
]
POSTGRESQL_REVERSE = [
    "DROP FUNCTION IF EXISTS sessions_app_search_recent(tsquery, bigint, bigint, bigint, integer)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0022_instance_list_speed"),
    ]

    operations = [
        migrations.RunPython(_run(POSTGRESQL_FORWARD), _run(POSTGRESQL_REVERSE), elidable=False),
    ]
