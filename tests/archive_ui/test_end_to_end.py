"""A real archive run on the demo Telegram, watched over the websocket, then browsed and exported."""

from __future__ import annotations

import json
import re

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from sessions_app.models import Dialog, Message
from sessions_app.services.archive_runs import archive_run_foreground
from tests.archive_ui.test_consumer import (  # noqa: F401 - autouse fixture
    _connect,
    _fresh_channel_layer,
    _snapshot,
    field,
    top_ids,
)
from tests.conftest import ADA, client_for, log_in


@pytest.fixture
def active(telegram, instance):
    log_in(instance)
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
async def test_a_run_streams_html_progress_then_the_tables_and_the_pages_show_its_result(active, viewer, operator):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    _, live = await _snapshot(communicator)
    assert re.search(r'id="archive-live" hidden', live)

    run = await sync_to_async(_run_in_a_worker_thread, thread_sensitive=False)(active)
    assert run.status == "done"
    frames = []
    while not frames or top_ids(frames[-1]) != ["archive-dialogs", "archive-runs"]:
        frames.append(await communicator.receive_from(timeout=5))
    await communicator.disconnect()
    lives = [html for html in frames if top_ids(html) == ["archive-live"]]
    cells = [html for html in frames if top_ids(html)[0].startswith("dialog-")]
    rows = [html for html in frames[:-1] if top_ids(html) == ["archive-dialogs"]]
    assert len(rows) == 1  # the first run's rows arrive once, before their cells
    assert len(lives) + len(cells) + len(rows) + 1 == len(frames) and cells
    saved = [int(field(html, "messages_saved")) for html in lives]
    assert saved == sorted(saved) and saved[-1] == run.messages_saved > 0
    assert field(lives[-1], "status") == "done"
    assert (field(lives[-1], "dialogs_done"), field(lives[-1], "dialogs_total")) == (str(run.dialogs_done),) * 2
    tables = frames[-1]
    assert f'<tr id="run-{run.pk}">' in tables and f">{run.messages_saved}<" in tables

    def browse() -> None:
        client = client_for(viewer)
        page = client.get("/instances/prod-bot/archive/").content.decode()
        # A refresh shows what the socket showed: the same runs table, the live block hidden again.
        squeeze = lambda html: re.sub(r">\s+<", "><", html.strip())  # noqa: E731
        runs = tables[tables.index('<div class="card" id="archive-runs">') :]
        assert squeeze(runs) in squeeze(page) and re.search(r'id="archive-live" hidden', page)
        for dialog in Dialog.objects.filter(instance=active):
            response = client.get(f"/instances/prod-bot/archive/{dialog.peer_id}/")
            assert response.status_code == 200 and dialog.title in response.content.decode()
        export = client_for(operator).get(
            "/instances/prod-bot/archive/export/", {"format": "jsonl"}
        )  # operators export
        lines = b"".join(export.streaming_content)
        exported = [(row["peer_id"], row["message_id"]) for row in map(json.loads, lines.decode().splitlines())]
        assert exported == list(
            Message.objects.filter(instance=active)
            .order_by("peer_id", "message_id")
            .values_list("peer_id", "message_id")
        )

    await sync_to_async(browse)()
