"""Storing chunks (services.archive_store) on either engine; PostgreSQL's COPY path has its own checks.

The same assertions run in the SQLite pass (one multi-row INSERT per dialog) and in scripts/test's
PostgreSQL pass (COPY into a staging table, one INSERT … SELECT per kind of write), so the two
paths keep one meaning: new history adds only rows that are not there and counts them, a refresh
rewrites edited rows and counts the ones it adds, checkpoints move in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection

from sessions_app.models import Dialog, Message
from sessions_app.services import archive_store
from sessions_app.services.archive_pipeline import Stored
from sessions_app.services.archive_store import chunks_store
from sessions_app.telegram.archive import ArchivedMessage

SENT = datetime(2026, 12, 1, 7, 0, 5, tzinfo=UTC)
EDITED = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's COPY path")


def _row(
    message_id: int, *, text: str = "hello", edited: datetime | None = None, views: int | None = None
) -> ArchivedMessage:
    return ArchivedMessage(
        message_id, SENT.timestamp(), edited.timestamp() if edited else None, 42, "Ada", text, None, None, "",
        "", "", None, "", views, None, False, "",
    )  # fmt: skip


def _chunk(dialog: Dialog, rows: list[ArchivedMessage], *, refresh: bool = False) -> Stored:
    return Stored(dialog.pk, rows, backward=not refresh, refresh=refresh, total=None)


def _texts(dialog: Dialog) -> dict[int, str]:
    return dict(Message.objects.filter(dialog=dialog).values_list("message_id", "text"))


@pytest.fixture
def dialogs(instance):
    return (
        Dialog.objects.create(instance=instance, peer_id=7, kind="user", title="Ada"),
        Dialog.objects.create(instance=instance, peer_id=8, kind="user", title="Bea"),
    )


@pytest.mark.django_db
def test_it_counts_only_the_rows_that_were_not_stored_yet(dialogs):
    ada, _bea = dialogs
    assert chunks_store([(ada, _chunk(ada, [_row(1), _row(2), _row(3)]))]) == 3
    overlapping = [_row(2, text="again"), _row(3), _row(4), _row(5), _row(5)]
    assert chunks_store([(ada, _chunk(ada, overlapping))]) == 2
    ada.refresh_from_db()
    assert ada.message_count == 5 and ada.newest_archived_id == 5
    assert _texts(ada)[2] == "hello"  # new history never rewrites a stored row


@pytest.mark.django_db
def test_a_refresh_rewrites_edited_rows_and_counts_only_the_rows_it_adds(dialogs):
    ada, _bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1), _row(2)]))])
    edits = [_row(2, text="edited", edited=EDITED), _row(3, text="new")]
    assert chunks_store([(ada, _chunk(ada, edits, refresh=True))]) == 1
    assert _texts(ada) == {1: "hello", 2: "edited", 3: "new"}
    assert Message.objects.get(dialog=ada, message_id=2).edit_date == EDITED
    ada.refresh_from_db()
    assert ada.message_count == 3


@pytest.mark.django_db
def test_several_dialogs_and_both_kinds_of_write_share_one_call_and_count_per_dialog(dialogs):
    ada, bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1)]))])
    added = chunks_store(
        [
            (ada, _chunk(ada, [_row(2), _row(3)])),
            (bea, _chunk(bea, [_row(1, text="bea"), _row(2, text="bea")])),
            (ada, _chunk(ada, [_row(1, text="edited"), _row(4)], refresh=True)),
            (bea, _chunk(bea, [_row(2, text="bea again")])),
        ]
    )
    assert added == 5  # ada 2, 3 and 4; bea 1 and 2
    ada.refresh_from_db()
    bea.refresh_from_db()
    assert (ada.message_count, bea.message_count) == (4, 2)
    assert _texts(ada) == {1: "edited", 2: "hello", 3: "hello", 4: "hello"}
    assert _texts(bea) == {1: "bea", 2: "bea again"}  # within one call, a message's last copy is the one written
    assert Message.objects.get(dialog=bea, message_id=1).peer_id == 8


@pytest.mark.django_db
def test_a_failed_write_keeps_neither_its_rows_nor_its_checkpoints(dialogs):
    ada, bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1)]))])
    with pytest.raises(IntegrityError):  # views is a positive integer column: -1 fails the whole transaction
        chunks_store([(ada, _chunk(ada, [_row(2)])), (bea, _chunk(bea, [_row(1, views=-1)]))])
    assert sorted(Message.objects.values_list("peer_id", "message_id")) == [(7, 1)]
    ada.refresh_from_db()
    assert (ada.message_count, ada.newest_archived_id) == (1, 1)
    assert chunks_store([(ada, _chunk(ada, [_row(2)]))]) == 1  # the next write starts clean


@pytest.mark.django_db
def test_stored_rows_are_found_by_search_as_soon_as_they_are_written(dialogs, instance):
    from sessions_app.search import search_messages

    ada, _bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1, text="quarterly figures"), _row(2, text="lunch")]))])
    assert [hit.message.message_id for hit in search_messages(instance=instance, query="quarterly")] == [1]


def _staged() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(archive_store._STAGE)}")  # noqa: S608
        (count,) = cursor.fetchone()
    return int(count)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_each_commit_empties_the_staging_table(dialogs):
    ada, bea = dialogs
    assert chunks_store([(ada, _chunk(ada, [_row(1), _row(2)])), (bea, _chunk(bea, [_row(1)]))]) == 3
    assert _staged() == 0
    assert (
        chunks_store([(ada, _chunk(ada, [_row(2), _row(3)])), (bea, _chunk(bea, [_row(1, text="x")], refresh=True))])
        == 1
    )
    assert _staged() == 0
    assert _texts(bea) == {1: "x"}
    assert Message.objects.count() == 4


@on_postgresql
@pytest.mark.django_db
def test_on_postgresql_a_write_inside_a_callers_transaction_leaves_nothing_staged(dialogs):
    ada, _bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1, text="first")]))])
    assert _staged() == 0
    chunks_store([(ada, _chunk(ada, [_row(2)]))])  # the first call's rows are not written a second time
    assert _texts(ada) == {1: "first", 2: "hello"}


@on_postgresql
@pytest.mark.django_db
def test_on_postgresql_dates_are_the_unix_seconds_telegram_sent(dialogs):
    ada, _bea = dialogs
    chunks_store([(ada, _chunk(ada, [_row(1, edited=EDITED)]))])
    stored = Message.objects.get(dialog=ada, message_id=1)
    assert (stored.date, stored.edit_date) == (SENT, EDITED)
