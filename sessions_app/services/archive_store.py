"""Storing archive chunks: one statement per chunk, the dialog's checkpoints in the same transaction.

The hot path of every run (see bench/archive.py). A chunk is one multi-row INSERT: SQLite runs it
in one step, so the storing thread gives the interpreter lock away once per chunk instead of once
per row (executemany), which matters while the reading thread parses the next chunk. New history
is INSERT … ON CONFLICT DO NOTHING, and the row count says how many were new; refreshing edits is
INSERT … ON CONFLICT DO UPDATE. Both mean the same on SQLite and PostgreSQL, and the full-text
index follows the rows as they are written (SQLite: the FTS5 triggers; PostgreSQL: the GIN index),
so a message is searchable as soon as its chunk's transaction commits.
"""

from __future__ import annotations

import datetime
import functools
import operator
import sqlite3
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from sessions_app.models import Dialog, Message
from sessions_app.services.archive_pipeline import Stored
from sessions_app.telegram.archive import ArchivedMessage

MUTABLE_FIELDS = [
    "date", "edit_date", "sender_id", "sender_name", "text", "reply_to_id", "topic_id", "forward_from",
    "media_kind", "media_file_name", "media_size", "media_mime", "views", "grouped_id", "is_service", "action_type",
]  # fmt: skip
_COLUMNS = ["instance_id", "dialog_id", "peer_id", "message_id", *MUTABLE_FIELDS]
_CHECKPOINT_FIELDS = [
    "message_count", "newest_archived_id", "oldest_archived_id", "total_on_server", "history_complete", "updated_at",
]  # fmt: skip
_VALUES = operator.attrgetter("message_id", *MUTABLE_FIELDS)  # date and edit_date are values 1 and 2


@functools.lru_cache(maxsize=32)
def _insert_sql(vendor: str, rows: int, *, update: bool) -> str:
    """The statement for a chunk of `rows` messages (cached: chunks are mostly full, 100 rows)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS)
    # SQLite's own placeholder: Django's %s-to-? rewrite of a 2,000-parameter statement costs more than the insert.
    row = "(" + ", ".join(["?" if vendor == "sqlite" else "%s"] * len(_COLUMNS)) + ")"
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


def _sqlite_datetime(value: datetime.datetime | None, zone: datetime.tzinfo) -> str | None:
    """What SQLite's adapt_datetimefield_value does (naive in the connection's zone, as text), minus its checks."""
    if value is None:
        return None
    if value.tzinfo is not zone:  # Telegram's dates are UTC already, like the connection's zone
        value = value.astimezone(zone)
    return str(value.replace(tzinfo=None))


def _params(dialog: Dialog, messages: Sequence[ArchivedMessage]) -> list[Any]:
    head = (dialog.instance_id, dialog.pk, dialog.peer_id)
    params: list[Any] = []
    if connection.vendor == "sqlite":
        zone = connection.timezone or datetime.UTC
        when = _sqlite_datetime
        for values in map(_VALUES, messages):
            params += head
            params += (values[0], when(values[1], zone), when(values[2], zone))
            params += values[3:]
    else:  # PostgreSQL takes aware datetimes as they are
        for values in map(_VALUES, messages):
            params += head
            params += values
    return params


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
    with connection.cursor() as cursor:
        for start in range(0, len(unique), step):
            part = unique[start : start + step]
            cursor.execute(_insert_sql(connection.vendor, len(part), update=refresh), _params(dialog, part))
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
        dialog.total_on_server = max(chunk.total, dialog.message_count)
    if chunk.completes_history:
        dialog.history_complete = True


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
            dialog.save(update_fields=_CHECKPOINT_FIELDS)
    return added
