"""The database half of "append-only": triggers refusing UPDATE and DELETE on the audit table.

Used by migration 0008, by the flush command (a whole-database reset; PostgreSQL's TRUNCATE skips
row triggers, SQLite's DELETE does not) and by the tests that tamper with a row on purpose.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "sessions_app_auditevent"
MESSAGE = "audit events are append-only"

_SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{op} BEFORE {op.upper()} ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    for op in ("update", "delete")
]
_SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_no_{op}" for op in ("update", "delete")]

_POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP; END;
    $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()",
]
_POSTGRES_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}"]


def _statements(connection: BaseDatabaseWrapper, *, install: bool) -> list[str]:
    if connection.vendor == "sqlite":
        return _SQLITE_INSTALL if install else _SQLITE_DROP
    if connection.vendor == "postgresql":
        return _POSTGRES_INSTALL if install else _POSTGRES_DROP
    return []  # other databases: the admin and the hash chain still guard the audit


def install(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, install=True):
            cursor.execute(sql)


def drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, install=False):
            cursor.execute(sql)
