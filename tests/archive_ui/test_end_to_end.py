"""A real archive run on the demo Telegram, watched over the websocket, then browsed and exported."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from sessions_app import selectors_archive
from sessions_app.models import ArchiveRun, Dialog, Message
from sessions_app.services.archive import archive_run_foreground
from tests.archive_ui.test_consumer import _connect, _fresh_channel_layer  # noqa: F401 - autouse fixture
from tests.conftest import ADA, client_for, demo_session


@pytest.fixture
def active(telegram, instance):
    instance.session_string = demo_session()
    instance.status = "active"
    instance.save()
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=120)
    return instance


def _run_in_a_worker_thread(instance):
    try:
        return archive_run_foreground(instance=instance)
    finally:
        connections.close_all()  # this pool thread outlives the test


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("close_thread_connections")
async def test_a_run_streams_progress_and_the_pages_show_its_result(active, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    assert (await communicator.receive_json_from())["data"]["run"] is None

    run = await sync_to_async(_run_in_a_worker_thread, thread_sensitive=False)(active)
    assert run.status == "done"
    events = []
    while not events or events[-1]["data"]["status"] != "done":
        events.append(await communicator.receive_json_from(timeout=5))
    await communicator.disconnect()
    assert {event["kind"] for event in events} == {"archive"}
    last = events[-1]["data"]
    assert last["messages_saved"] == run.messages_saved > 0 and last["dialogs_done"] == last["dialogs_total"]
    saved = [event["data"]["messages_saved"] for event in events]
    assert saved == sorted(saved)
    # The page's own snapshot (no-JS view, websocket snapshot) speaks the pipeline's event shape.
    fresh = await ArchiveRun.objects.select_related("current_dialog").aget(pk=run.pk)
    assert set(selectors_archive.archive_run_progress(fresh)) == set(last)

    def browse() -> None:
        client = client_for(viewer)
        page = client.get("/instances/prod-bot/archive/").content.decode()
        assert f">{run.messages_saved}<" in page and "done" in page
        for dialog in Dialog.objects.filter(instance=active):
            response = client.get(f"/instances/prod-bot/archive/{dialog.peer_id}/")
            assert response.status_code == 200 and dialog.title in response.content.decode()
        lines = b"".join(client.get("/instances/prod-bot/archive/export/", {"format": "jsonl"}).streaming_content)
        exported = [(row["peer_id"], row["message_id"]) for row in map(json.loads, lines.decode().splitlines())]
        assert exported == list(
            Message.objects.filter(instance=active)
            .order_by("peer_id", "message_id")
            .values_list("peer_id", "message_id")
        )

    await sync_to_async(browse)()
