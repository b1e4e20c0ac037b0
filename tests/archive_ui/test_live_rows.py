"""A dialog that appears during a run gets its row on the archive page live (no htmx oobErrorNoTarget)."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from sessions_app.selectors.archive import ArchiveProgress, DialogProgress
from sessions_app.services.events import event_broadcast
from tests.archive_ui.conftest import make_dialog
from tests.archive_ui.test_consumer import _connect, _fresh_channel_layer, _snapshot, top_ids  # noqa: F401

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]


def _progress(peer_id: int, title: str, archived: int) -> ArchiveProgress:
    return ArchiveProgress(
        run_id=1, status="running", messages_saved=archived, dialogs_done=0, dialogs_total=2, rate=10.0,
        flood_wait_until=None, dialog=DialogProgress(peer_id=peer_id, title=title, archived=archived, total=None,
                                                     complete=False),
    )  # fmt: skip


async def test_a_dialog_new_in_this_run_gets_its_row_before_its_counting_cells(instance, viewer):
    communicator, connected, _ = await _connect(viewer)  # the page was rendered with no dialog rows
    assert connected
    await _snapshot(communicator)
    # The run lists the account's dialogs (their rows appear in the DB), then archives the first one.
    await sync_to_async(make_dialog)(instance, -1001, "Fresh channel", kind="channel")
    await sync_to_async(make_dialog)(instance, 42, "Fresh contact")
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="archive", data=_progress(-1001, "Fresh channel", 100).as_event()
    )
    await communicator.receive_from()  # the live block
    table = await communicator.receive_from()
    assert top_ids(table) == ["archive-dialogs"]
    assert '<tr id="dialog--1001">' in table and '<tr id="dialog-42">' in table
    cells = await communicator.receive_from()
    assert top_ids(cells) == ["dialog--1001-archived", "dialog--1001-progress"]

    # Rows the page now has are not sent again: the next dialog's cells come alone.
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="archive", data=_progress(42, "Fresh contact", 5).as_event()
    )
    await communicator.receive_from()
    assert top_ids(await communicator.receive_from()) == ["dialog-42-archived", "dialog-42-progress"]
    await communicator.disconnect()


async def test_a_dialog_found_later_in_the_run_brings_the_table_again(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await sync_to_async(make_dialog)(instance, 42, "Contact")
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="archive", data=_progress(42, "Contact", 5).as_event()
    )
    await communicator.receive_from()
    assert top_ids(await communicator.receive_from()) == ["archive-dialogs"]
    await communicator.receive_from()
    # An upgraded group's old basic group, found in its supergroup's first message mid-run.
    await sync_to_async(make_dialog)(instance, -4300002, "Club (before the upgrade)", kind="group")
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="archive", data=_progress(-4300002, "Club", 6).as_event()
    )
    await communicator.receive_from()
    table = await communicator.receive_from()
    assert top_ids(table) == ["archive-dialogs"] and '<tr id="dialog--4300002">' in table
    assert top_ids(await communicator.receive_from()) == ["dialog--4300002-archived", "dialog--4300002-progress"]
    await communicator.disconnect()
