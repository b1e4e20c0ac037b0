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


def _write(dialog: Dialog, messages: Sequence[ArchivedMessage], *, refresh: bool) -> int:
    """Write one dialog's rows; returns how many of them were new."""
    by_id = {m.message_id: m for m in messages}  # one row per message: ON CONFLICT may touch a row once
    unique = list(by_id.values())
    existing = 0
    if refresh:
        existing = Message.objects.filter(
            instance_id=dialog.instance_id, peer_id=dialog.peer_id, message_id__in=list(by_id)
        ).count()
    written = 0
    step = _rows_per_statement()
    vendor, unix_in_sql = connection.vendor, _unix_in_sql()
    # SQLite: the driver's own cursor (same connection, same transaction). Django's wrapper would
    # rescan the whole statement for placeholders each time; the work is sqlite3_step's, which
    # runs without the interpreter lock while the reading thread parses the next chunks.
    with contextlib.closing(connection.connection.cursor()) if vendor == "sqlite" else connection.cursor() as cursor:
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
    with transaction.atomic():
        for (_pk, refresh), (dialog, parts) in groups.items():
            messages = [m for part in parts for m in part.messages]
            new = _write(dialog, messages, refresh=refresh) if messages else 0
            dialog.message_count += new
            added += new
            for part in parts:
                _apply(dialog, part)
        for dialog in {dialog.pk: dialog for dialog, _parts in groups.values()}.values():
            _checkpoint(dialog)
    return added
