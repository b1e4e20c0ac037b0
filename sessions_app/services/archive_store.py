"""Storing archive chunks: one statement per chunk, the dialog's checkpoints in the same transaction.

The hot path of every run (see bench/archive.py). A chunk is one multi-row INSERT: SQLite runs it
in one step, so the storing thread gives the interpreter lock away once per chunk instead of once
per row (executemany), which matters while the reading thread parses the next chunk. New history
is INSERT … ON CONFLICT DO NOTHING, and the row count says how many were new; refreshing edits is
INSERT … ON CONFLICT DO UPDATE. Both mean the same on SQLite and PostgreSQL, and the full-text
index follows the rows as they are written (SQLite: the FTS5 triggers; PostgreSQL: the GIN index),
so a message is searchable as soon as its chunk's transaction commits.

On SQLite (the default, with a UTC connection) the statement runs on the driver's own cursor and
an ArchivedMessage is its row's parameters as they are: the dates are Unix seconds that
``datetime(?, 'unixepoch')`` turns into the very text Django writes, inside sqlite3_step, where
the reading thread keeps the interpreter lock (bench/README.md: per-thread figures).

On PostgreSQL a multi-row INSERT costs the client more than the server: psycopg quotes each of
its ~2,000 parameters into the statement text (Django's client-side binding) and the server parses
it anew. So a transaction's rows go through ``COPY`` into a temporary staging table (created once
per connection, emptied at every commit), and one ``INSERT … SELECT … ON CONFLICT`` per kind of
write (new history, refreshed edits) moves them into the message table, counting the new rows of
each dialog in the same statement; the dates go in as Unix seconds and ``to_timestamp()`` turns
them into timestamptz on the server. See _write_postgresql().
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import sqlite3
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import Dialog, Message
from sessions_app.services.archive_pipeline import Stored
from sessions_app.telegram.archive import ArchivedMessage

MUTABLE_FIELDS = [
    "date", "edit_date", "sender_id", "sender_name", "text", "reply_to_id", "topic_id", "forward_from",
    "media_kind", "media_file_name", "media_size", "media_mime", "views", "grouped_id", "is_service", "action_type",
]  # fmt: skip
_COLUMNS = ["instance_id", "dialog_id", "peer_id", "message_id", *MUTABLE_FIELDS]  # = head + ArchivedMessage
_DATES = (4, 5)  # the positions of date and edit_date in _COLUMNS: Unix seconds in an ArchivedMessage
_CHECKPOINT_FIELDS = [
    "message_count", "newest_archived_id", "oldest_archived_id", "total_on_server", "history_complete", "updated_at",
]  # fmt: skip


def _unix_in_sql() -> bool:
    """Whether SQLite formats the dates itself: Django stores them naive in the connection's zone, as text.

    ``datetime(s, 'unixepoch')`` gives 'YYYY-MM-DD HH:MM:SS', which is what Django's
    adapt_datetimefield_value writes for a UTC connection and a whole-second date (Telegram's are).
    """
    return connection.vendor == "sqlite" and connection.timezone_name == "UTC"


@functools.lru_cache(maxsize=32)
def _insert_sql(vendor: str, unix_in_sql: bool, rows: int, *, update: bool) -> str:
    """The statement for a chunk of `rows` messages (cached: chunks are mostly full, 100 rows)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS)
    # SQLite's own placeholder: the statement runs on the driver's cursor, without Django's %s-to-? rewrite.
    mark = "?" if vendor == "sqlite" else "%s"
    values = [f"datetime({mark}, 'unixepoch')" if unix_in_sql and i in _DATES else mark for i in range(len(_COLUMNS))]
    row = "(" + ", ".join(values) + ")"
    key = ", ".join(quote(c) for c in ("instance_id", "peer_id", "message_id"))
    if update:
        action = "DO UPDATE SET " + ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in MUTABLE_FIELDS)
    else:
        action = "DO NOTHING"
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    return (
        f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)} "  # noqa: S608
        f"ON CONFLICT ({key}) {action}"
    )


def _params(dialog: Dialog, messages: Sequence[ArchivedMessage], *, unix_in_sql: bool) -> list[Any]:
    head = (dialog.instance_id, dialog.pk, dialog.peer_id)
    params: list[Any] = []
    if unix_in_sql:  # the hot path: the rows are the parameters as they are
        for row in messages:
            params += head
            params += row
        return params
    # PostgreSQL takes aware datetimes; SQLite in another zone gets Django's own conversion.
    adapt = connection.ops.adapt_datetimefield_value if connection.vendor == "sqlite" else _same
    for row in messages:
        params += head
        params.append(row[0])
        params.append(adapt(_aware(row[1])))
        params.append(adapt(_aware(row[2])))
        params += row[3:]
    return params


def _aware(unix: float | None) -> datetime.datetime | None:
    return None if unix is None else datetime.datetime.fromtimestamp(unix, datetime.UTC)


def _same(value: Any) -> Any:
    return value


def _rows_per_statement() -> int:
    """As many rows as one statement may carry parameters for (SQLite asks the library; at most 1,000)."""
    limit = 65_535  # PostgreSQL's protocol limit
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        raw = connection.connection
        limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if raw is not None else 999
    return max(1, min(1_000, limit // len(_COLUMNS)))


# -- PostgreSQL: COPY into a staging table, then one INSERT … SELECT per kind of write ----------------

_STAGE = "teleconnect_archive_stage"  # a temporary table: one per connection, emptied by every commit
# ON COMMIT DELETE ROWS empties it without dead rows (autovacuum never visits temporary tables).
# Its columns take their types from the message table's, so a migration that changes one follows.
_STAGE_DATES = ("date", "edit_date")


@functools.lru_cache(maxsize=1)
def _stage_ddl() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(
        f"0::float8 AS {quote(c + '_unix')}" if c in _STAGE_DATES else f"m.{quote(c)}" for c in _COLUMNS
    )
    return (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(_STAGE)} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT false AS refresh, {columns} FROM {quote(Message._meta.db_table)} AS m WITH NO DATA"
    )


@functools.lru_cache(maxsize=1)
def _copy_sql() -> str:
    quote = connection.ops.quote_name
    names = ["refresh", *(c + "_unix" if c in _STAGE_DATES else c for c in _COLUMNS)]
    return f"COPY {quote(_STAGE)} ({', '.join(quote(c) for c in names)}) FROM STDIN"


@functools.lru_cache(maxsize=2)
def _move_sql(*, refresh: bool) -> str:
    """Staged rows of one kind into the message table: rows of (dialog id, how many of its rows were new).

    New history counts the rows its INSERT … ON CONFLICT DO NOTHING returns. A refresh (DO UPDATE
    returns every row) counts first, in the same statement's snapshot, the staged rows that have
    no message yet.
    """
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    columns = ", ".join(quote(c) for c in _COLUMNS)
    values = ", ".join(
        f"to_timestamp(s.{quote(c + '_unix')})" if c in _STAGE_DATES else f"s.{quote(c)}" for c in _COLUMNS
    )
    key = ("instance_id", "peer_id", "message_id")
    conflict = ", ".join(quote(c) for c in key)
    insert = (
        f"INSERT INTO {table} ({columns}) SELECT {values} FROM {quote(_STAGE)} AS s "  # noqa: S608
        f"WHERE s.refresh = {'true' if refresh else 'false'} ON CONFLICT ({conflict}) "
    )
    if not refresh:
        return (
            f"WITH written AS ({insert} DO NOTHING RETURNING {quote('dialog_id')}) "  # noqa: S608
            f"SELECT {quote('dialog_id')}, count(*) FROM written GROUP BY 1"
        )
    update = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in MUTABLE_FIELDS)
    match = " AND ".join(f"m.{quote(c)} = s.{quote(c)}" for c in key)
    # Every part of the statement sees the same snapshot, so `fresh` counts the rows before the
    # upsert; a data-modifying WITH runs to completion whether or not the main query reads it.
    return (
        f"WITH fresh AS (SELECT s.{quote('dialog_id')}, count(*) AS n FROM {quote(_STAGE)} AS s "  # noqa: S608
        f"WHERE s.refresh AND NOT EXISTS (SELECT 1 FROM {table} AS m WHERE {match}) GROUP BY 1), "
        f"written AS ({insert} DO UPDATE SET {update}) "
        f"SELECT {quote('dialog_id')}, n FROM fresh"
    )


def _write_postgresql(groups: Sequence[tuple[Dialog, list[ArchivedMessage], bool]]) -> dict[int, int]:
    """Write every group's rows in two statements and a COPY; returns how many rows were new, by dialog id.

    A group's rows are unique by message id already (ON CONFLICT DO UPDATE may touch a row once).
    """
    kinds = {refresh for _dialog, messages, refresh in groups if messages}
    new: dict[int, int] = {}
    if not kinds:
        return new
    with connection.cursor() as cursor:
        cursor.execute(_stage_ddl())
        with cursor.copy(_copy_sql()) as copy:
            write = copy.write_row
            for dialog, messages, refresh in groups:
                head = (refresh, dialog.instance_id, dialog.pk, dialog.peer_id)
                for row in messages:
                    write(head + row)
        for refresh in sorted(kinds):  # new history first, as the pipeline hands it over
            cursor.execute(_move_sql(refresh=refresh))
            for dialog_id, count in cursor.fetchall():
                new[dialog_id] = new.get(dialog_id, 0) + count
        # Inside a caller's transaction (a savepoint, or autocommit turned off) no commit empties
        # the stage before the next write: empty it now.
        if connection.savepoint_ids or not connection.commit_on_exit:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(_STAGE)}")  # noqa: S608
    return new


# -- SQLite (and any other engine): one multi-row INSERT per chunk --------------------------------------


def _unique(messages: Sequence[ArchivedMessage]) -> list[ArchivedMessage]:
    """One row per message id, the last one seen: ON CONFLICT DO UPDATE may touch a row once."""
    return list({m.message_id: m for m in messages}.values())


def _write(dialog: Dialog, messages: Sequence[ArchivedMessage], *, refresh: bool) -> int:
    """Write one dialog's rows; returns how many of them were new."""
    unique = _unique(messages)
    existing = 0
    if refresh:
        existing = Message.objects.filter(
            instance_id=dialog.instance_id, peer_id=dialog.peer_id, message_id__in=[m.message_id for m in unique]
        ).count()
    written = 0
    step = _rows_per_statement()
    vendor, unix_in_sql = connection.vendor, _unix_in_sql()
    # SQLite: the driver's own cursor (same connection, same transaction). Django's wrapper would
    # rescan the whole statement for placeholders each time; the work is sqlite3_step's, which
    # runs without the interpreter lock while the reading thread parses the next chunks. Its errors
    # still reach the caller as Django's (IntegrityError, OperationalError, ...), as the wrapper's would.
    with (
        connection.wrap_database_errors,
        contextlib.closing(connection.connection.cursor()) if vendor == "sqlite" else connection.cursor() as cursor,
    ):
        for start in range(0, len(unique), step):
            part = unique[start : start + step]
            sql = _insert_sql(vendor, unix_in_sql, len(part), update=refresh)
            cursor.execute(sql, _params(dialog, part, unix_in_sql=unix_in_sql))
            written += cursor.rowcount
    return len(unique) - existing if refresh else written


def _apply(dialog: Dialog, chunk: Stored) -> None:
    """Move the dialog's checkpoints (in memory) past a written chunk."""
    if chunk.messages:
        ids = [m.message_id for m in chunk.messages]
        dialog.newest_archived_id = max(dialog.newest_archived_id, max(ids))
        if chunk.backward:
            lowest = min(ids)
            dialog.oldest_archived_id = min(dialog.oldest_archived_id, lowest) if dialog.oldest_archived_id else lowest
    if chunk.total is not None:
        dialog.total_on_server = chunk.total
    if dialog.total_on_server is not None:  # a chunk without Telegram's count leaves no smaller total behind
        dialog.total_on_server = max(dialog.total_on_server, dialog.message_count)
    if chunk.completes_history:
        dialog.history_complete = True


@functools.lru_cache(maxsize=4)
def _checkpoint_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f)} = %s" for f in _CHECKPOINT_FIELDS)
    return f"UPDATE {quote(Dialog._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608


def _checkpoint(dialog: Dialog) -> None:
    """dialog.save(update_fields=_CHECKPOINT_FIELDS), minus the ORM's per-call compiling."""
    dialog.updated_at = timezone.now()
    values = [getattr(dialog, field) for field in _CHECKPOINT_FIELDS]
    values[-1] = connection.ops.adapt_datetimefield_value(values[-1])
    with connection.cursor() as cursor:
        cursor.execute(_checkpoint_sql(connection.vendor), [*values, dialog.pk])


def chunks_store(chunks: Sequence[tuple[Dialog, Stored]]) -> int:
    """Store chunks and move their dialogs' checkpoints, in one transaction; returns how many messages were new.

    The checkpoints (newest and oldest archived ids, history_complete) are each dialog's own, so
    dialogs read side by side resume each from its own place. Chunks that arrive together share
    the transaction, and a dialog's chunks one statement: one commit and one checkpoint write
    per dialog for all of them.
    """
    groups: dict[tuple[int, bool], tuple[Dialog, list[Stored]]] = {}
    for dialog, chunk in chunks:
        groups.setdefault((dialog.pk, chunk.refresh), (dialog, []))[1].append(chunk)
    added = 0
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic():
        new_by_dialog: dict[int, int] = {}
        if postgresql:
            new_by_dialog = _write_postgresql(
                [
                    (dialog, _unique([m for part in parts for m in part.messages]), refresh)
                    for (_pk, refresh), (dialog, parts) in groups.items()
                ]
            )
        for (_pk, refresh), (dialog, parts) in groups.items():
            if postgresql:
                new = new_by_dialog.pop(dialog.pk, 0)  # both kinds of a dialog's rows, counted once
            else:
                messages = [m for part in parts for m in part.messages]
                new = _write(dialog, messages, refresh=refresh) if messages else 0
            dialog.message_count += new
            added += new
            for part in parts:
                _apply(dialog, part)
        for dialog in {dialog.pk: dialog for dialog, _parts in groups.values()}.values():
            _checkpoint(dialog)
    return added
