"""Streamed archive export (JSON Lines or CSV): memory stays flat however big the archive is.

Messages are read dialog by dialog in keyset chunks (message_id > last seen, on the message_keyset
index), as plain values rather than model instances, and written out one chunk at a time.

The CSV is for spreadsheets, and message text is written by anyone who can message the account:
a text cell a spreadsheet would read as a formula is neutralised (OWASP "CSV injection").
JSON Lines carries the text exactly as archived.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db.models import Case, CharField, F, Value, When
from django.utils.http import content_disposition_header
from django.utils.text import slugify

from sessions_app.models import ConnectorInstance, Dialog, Message
from sessions_app.models_media import MediaStatus
from sessions_app.selectors.archive import conversation_of
from sessions_app.services.audit import audit_record

CHUNK_SIZE = 2000
FORMATS = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}

FIELDS = [
    "peer_id",
    "dialog_title",
    "message_id",
    "date",
    "edit_date",
    "sender_id",
    "sender_name",
    "text",
    "reply_to_id",
    "topic_id",
    "forward_from",
    "media_kind",
    "media_file_name",
    "media_size",
    "media_mime",
    "media_path",  # the stored file's key in the media store (STORAGES["archive_media"]), "" if not stored
    "views",
    "grouped_id",
    "is_service",
    "action_type",
]
_MESSAGE_COLUMNS = [name for name in FIELDS if name not in ("peer_id", "dialog_title", "media_path")]
_MEDIA_PATH = Case(
    When(archived_media__status=MediaStatus.DONE, then=F("archived_media__store_key")),
    default=Value(""),
    output_field=CharField(),
)


SLUG_MAX_LENGTH = 80


def archive_download_disposition(*, session: str, export_format: str) -> str:
    """The Content-Disposition of the whole archive's export: `prod-bot-archive.csv`."""
    return f'attachment; filename="{session}-archive.{export_format}"'


def dialog_download_disposition(*, title: str, peer_id: int, export_format: str, day: date) -> str:
    """The Content-Disposition of one dialog's export, named after it: `alpha-team-chat-2026-12-01.csv`.

    The title becomes a slug (letters, digits and hyphens: no quote, slash or control character
    reaches the header). Browsers that read RFC 6266's `filename*` get the title's own letters
    (`ünïcödé-weird-name-…`); `filename` carries the ASCII form for the others. A title with no
    letters or digits at all (emoji only) is named after the peer id: `dialog-12345-…`.
    """
    suffix = f"-{day.isoformat()}.{export_format}"
    fallback = f"dialog-{peer_id}"
    ascii_name = (slugify(title)[:SLUG_MAX_LENGTH].strip("-") or fallback) + suffix
    unicode_name = (slugify(title, allow_unicode=True)[:SLUG_MAX_LENGTH].strip("-") or fallback) + suffix
    disposition = content_disposition_header(True, ascii_name)
    if unicode_name != ascii_name:
        disposition += f"; filename*=utf-8''{quote(unicode_name)}"
    return str(disposition)


def export_rows(
    *, instance: ConnectorInstance, peer_id: int | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """Chunks of export rows ordered by (peer_id, message_id), one dialog's old basic group first; ISO 8601 dates."""
    dialogs = Dialog.objects.filter(instance=instance).order_by("peer_id")
    if peer_id is not None:  # with the basic group it was upgraded from, whose messages come first
        dialogs = conversation_of(instance=instance, peer_id=peer_id).order_by(
            F("migrated_to").desc(nulls_last=True), "peer_id"
        )
    for dialog_pk, dialog_peer, title in dialogs.values_list("pk", "peer_id", "title"):
        cursor = None
        while True:
            query = Message.objects.filter(dialog_id=dialog_pk)
            if cursor is not None:
                query = query.filter(message_id__gt=cursor)
            values = list(query.order_by("message_id").values(*_MESSAGE_COLUMNS, media_path=_MEDIA_PATH)[:chunk_size])
            if not values:
                break
            rows = []
            for value in values:
                value["date"] = value["date"].isoformat()
                if value["edit_date"] is not None:
                    value["edit_date"] = value["edit_date"].isoformat()
                rows.append({"peer_id": dialog_peer, "dialog_title": title, **value})
            yield rows
            if len(values) < chunk_size:
                break
            cursor = values[-1]["message_id"]


class _Echo:
    """csv.writer's file: hands each written line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


# What makes Excel, LibreOffice or Google Sheets evaluate a cell (=, +, - and @ start a formula; a
# leading tab or carriage return is dropped by some importers, uncovering one of those).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """A leading single quote makes spreadsheets show the cell as text (OWASP's recommendation)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise_formula(value)
    return value  # numbers (a negative id is a number to a spreadsheet, never a formula)


def export_lines(
    *, instance: ConnectorInstance, export_format: str, peer_id: int | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[str]:
    """The export file as text pieces (a header, then one piece per chunk of rows)."""
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}")
    chunks = export_rows(instance=instance, peer_id=peer_id, chunk_size=chunk_size)
    if export_format == "jsonl":
        for rows in chunks:
            yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for rows in chunks:
        yield "".join(writer.writerow([_csv_cell(row[name]) for name in FIELDS]) for row in rows)


def archive_export_start(
    *, instance: ConnectorInstance, actor: User, export_format: str, peer_id: int | None = None
) -> Iterator[str]:
    """Audit the export (who, which format, which dialog, how many messages), then hand back its pieces."""
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}")
    messages = Message.objects.filter(instance=instance)
    if peer_id is not None:
        messages = messages.filter(dialog__in=conversation_of(instance=instance, peer_id=peer_id))
    audit_record(
        instance=instance,
        actor=actor,
        action="archive.export",
        detail={"format": export_format, "peer_id": peer_id, "messages": messages.count()},
    )
    return export_lines(instance=instance, export_format=export_format, peer_id=peer_id)


async def aiter_sync(iterator: Iterator[str]) -> AsyncIterator[str]:
    """Serve a sync generator to an ASGI server piece by piece.

    Given a sync iterator, Django's ASGI handler would first collect it into a list (the whole
    archive in memory); pulling one piece at a time on the sync thread keeps the DB work there
    and the memory flat.
    """
    pull = sync_to_async(_next_or_none, thread_sensitive=True)
    while True:
        piece = await pull(iterator)
        if piece is None:
            return
        yield piece


def _next_or_none(iterator: Iterator[str]) -> str | None:
    return next(iterator, None)
