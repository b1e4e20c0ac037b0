"""Building archive data for the search tests, and looking at the engines' indexes directly."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from django.db import connection

from sessions_app.models import ConnectorInstance, Dialog, DialogKind, Message
from sessions_app.search import SearchHit, SearchPage, search_page


class Archive:
    """Builds instances, dialogs and messages straight through the ORM."""

    def __init__(self) -> None:
        self._message_ids = itertools.count(1)
        # Kept, not queried again: a migration test moves the schema back, and a query would name
        # columns added since.
        self._dialogs: dict[tuple[int, int], Dialog] = {}

    def instance(self, session: str) -> ConnectorInstance:
        return ConnectorInstance.objects.create(session=session, name=f"Account {session}")

    def dialog(self, instance: ConnectorInstance, peer_id: int = 1) -> Dialog:
        key = (instance.pk, peer_id)
        if key not in self._dialogs:
            self._dialogs[key], _ = Dialog.objects.get_or_create(
                instance=instance, peer_id=peer_id, defaults={"kind": DialogKind.USER, "title": f"Chat {peer_id}"}
            )
        return self._dialogs[key]

    def message(
        self,
        instance: ConnectorInstance,
        text: str,
        *,
        peer_id: int = 1,
        sender_name: str = "",
        message_id: int | None = None,
        **fields: object,
    ) -> Message:
        return Message.objects.create(
            instance=instance,
            dialog=self.dialog(instance, peer_id),
            peer_id=peer_id,
            message_id=message_id if message_id is not None else next(self._message_ids),
            date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            sender_name=sender_name,
            text=text,
            **fields,
        )


def texts(hits: list[SearchHit]) -> list[str]:
    return [hit.message.text for hit in hits]


def upsert(message: Message, **changes: object) -> None:
    """Store `message` again the way the archive does: INSERT … ON CONFLICT DO UPDATE."""
    row = Message(
        instance=message.instance,
        dialog=message.dialog,
        peer_id=message.peer_id,
        message_id=message.message_id,
        date=message.date,
        text=changes.get("text", message.text),
        sender_name=changes.get("sender_name", message.sender_name),
        media_kind=changes.get("media_kind", message.media_kind),
        media_file_name=changes.get("media_file_name", message.media_file_name),
    )
    Message.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["instance", "peer_id", "message_id"],
        update_fields=["text", "sender_name", "media_kind", "media_file_name", "date"],
    )


def index_matches(word: str) -> int:
    """How many rows the full-text index itself matches, without joining the message table.

    The PostgreSQL expression is written out (as in migration 0009), not taken from the search code.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sessions_app_message_fts WHERE sessions_app_message_fts MATCH %s", [f'"{word}"']
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM sessions_app_message WHERE "
                "to_tsvector('simple', coalesce(text, '') || ' ' || coalesce(sender_name, '') || ' ' "
                "|| regexp_replace(coalesce(media_file_name, ''), '[^[:alnum:]]+', ' ', 'g')) "
                "@@ plainto_tsquery('simple', %s)",
                [word],
            )
        return cursor.fetchone()[0]


def search_index_objects() -> set[str]:
    """The database objects migrations 0003 and 0009 create for the engine in use."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sessions_app_message_fts%'")
        else:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname = 'sessions_app_message_search'")
        return {row[0] for row in cursor.fetchall()}


def fts_columns() -> list[str]:
    """The columns of the SQLite FTS table as the database has them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pragma_table_info('sessions_app_message_fts')")
        return [row[0] for row in cursor.fetchall()]


def walk_pages(instance: ConnectorInstance, query: str, *, limit: int, peer_id: int | None = None) -> list[SearchPage]:
    """Every page of a search, following `next` until the last one (at most 1,000 pages)."""
    pages = [search_page(instance=instance, query=query, limit=limit, peer_id=peer_id)]
    while pages[-1].next:
        assert len(pages) < 1000, "paging does not end"
        pages.append(search_page(instance=instance, query=query, limit=limit, peer_id=peer_id, after=pages[-1].next))
    return pages


def insert_message_row(archive: Archive, instance: ConnectorInstance, message_id: int, **values: str) -> None:
    """A message inserted with SQL naming only columns migration 0002 created, so it works at any later state.

    For tests that migrate back: the ORM would name columns the current model has and an earlier
    schema lacks. `values` sets text, sender_name, media_kind or media_file_name.
    """
    dialog = archive.dialog(instance)  # made through the ORM before migrating back
    columns = {
        "instance_id": instance.pk,
        "dialog_id": dialog.pk,
        "peer_id": dialog.peer_id,
        "message_id": message_id,
        "date": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "sender_name": "",
        "text": "",
        "forward_from": "",
        "media_kind": "",
        "media_file_name": "",
        "media_mime": "",
        "is_service": False,
        "action_type": "",
        **values,
    }
    names = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO sessions_app_message ({names}) VALUES ({placeholders})", list(columns.values()))  # noqa: S608
