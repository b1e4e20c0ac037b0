"""The instance websocket through the real ASGI stack: origin check, session auth, roles, HTML fragments."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, Membership
from sessions_app.selectors.archive import ArchiveProgress, DialogProgress
from sessions_app.services.events import event_broadcast
from teleconnect.asgi import application
from tests.archive_ui.conftest import make_dialog

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]

PATH = "/ws/instances/prod-bot/"
ORIGIN = (b"origin", b"http://127.0.0.1")
FAST = 0.05


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """The in-memory layer's queues belong to one event loop, and each test has its own loop."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def _session_cookie(user) -> bytes:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}".encode()


async def _connect(user=None, path: str = PATH, origin: tuple[bytes, bytes] = ORIGIN):
    headers = [origin]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_session_cookie)(user)))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def _close_code(user=None, path: str = PATH) -> int:
    """The handshake is accepted (so the browser sees the code), then the server closes."""
    communicator, connected, _ = await _connect(user, path)
    assert connected
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close"
    await communicator.wait()
    return message["code"]


def top_ids(html: str) -> list[str]:
    """The ids of a fragment's top-level elements: what the htmx ws extension swaps out of band."""
    ids, depth = [], 0
    for closing, tag, attrs in re.findall(r"<(/?)([a-z0-9]+)([^>]*)>", html):
        if tag in {"br", "input", "img", "hr", "meta"}:
            continue
        if closing:
            depth -= 1
            continue
        if depth == 0:
            ids.append(re.search(r'id="([^"]+)"', attrs).group(1))
        depth += 1
    return ids


def field(html: str, name: str) -> str:
    return re.search(rf'data-field="{name}">([^<]*)<', html).group(1)


async def _snapshot(communicator) -> list[str]:
    """A fresh socket gets the status badge, then the live block (and the start button for operators)."""
    return [await communicator.receive_from(), await communicator.receive_from()]


def _progress(**fields) -> ArchiveProgress:
    values = {
        "run_id": 1, "status": ArchiveStatus.RUNNING, "messages_saved": 250, "dialogs_done": 1, "dialogs_total": 4,
        "rate": 41.5, "flood_wait_until": None,
        "dialog": DialogProgress(peer_id=-100555, title="News", archived=250, total=1000, complete=False),
    }  # fmt: skip
    return ArchiveProgress(**{**values, **fields})


async def test_it_closes_with_4401_for_an_anonymous_user(instance):
    assert await _close_code() == 4401


async def test_it_closes_with_4404_for_a_user_without_a_role_on_the_instance(instance, outsider):
    assert await _close_code(outsider) == 4404  # as for an unknown instance: existence is not revealed


async def test_it_closes_with_4404_for_an_unknown_instance(instance, viewer):
    assert await _close_code(viewer, "/ws/instances/no-such-bot/") == 4404


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/instances/bad name/", "/ws/instances/prod-bot/extra/", "/"])
async def test_it_closes_with_4404_for_an_unknown_path(instance, viewer, path):
    assert await _close_code(viewer, path) == 4404


async def test_an_unknown_path_closes_with_4404_for_an_anonymous_user_too(db):
    assert await _close_code(None, "/ws/nope/") == 4404


async def test_a_foreign_origin_is_refused_at_the_handshake(instance, viewer):
    communicator, connected, _ = await _connect(viewer, origin=(b"origin", b"https://evil.example"))
    assert connected is False
    await communicator.disconnect()


async def test_a_viewer_gets_the_live_parts_then_pushed_fragments(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    status, live = await _snapshot(communicator)
    assert status == '<span class="badge new" id="status">new</span>\n'
    assert top_ids(live) == ["archive-live"] and re.search(r'id="archive-live" hidden', live)  # no run yet

    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=_progress().as_event())
    live = await communicator.receive_from()
    assert top_ids(live) == ["archive-live"]  # a viewer has no start button to update
    assert (field(live, "messages_saved"), field(live, "dialogs_done"), field(live, "dialogs_total")) == (
        "250",
        "1",
        "4",
    )
    assert (
        field(live, "status") == "running" and field(live, "rate") == "41.5" and field(live, "dialog_title") == "News"
    )
    cells = await communicator.receive_from()
    assert top_ids(cells) == ["dialog--100555-archived", "dialog--100555-progress"]
    assert '<progress max="1000" value="250"></progress>' in cells

    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="status", data={"status": "active", "label": "active", "error": ""}
    )
    assert await communicator.receive_from() == '<span class="badge active" id="status">active</span>\n'
    await communicator.disconnect()


async def test_an_operator_also_gets_the_start_button_which_is_disabled_while_a_run_is_active(instance, operator):
    communicator, connected, _ = await _connect(operator)
    assert connected
    _, live = await _snapshot(communicator)
    assert top_ids(live) == ["archive-live", "archive-start"] and "disabled" not in live
    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=_progress(dialog=None).as_event())
    live = await communicator.receive_from()
    assert top_ids(live) == ["archive-live", "archive-start"] and "disabled" in live
    await communicator.disconnect()


async def test_the_snapshot_carries_the_active_run(instance, viewer):
    dialog = await sync_to_async(make_dialog)(instance, 7, "Big channel", total_on_server=900, message_count=300)
    await ArchiveRun.objects.acreate(
        instance=instance,
        status=ArchiveStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
        messages_saved=500,
        dialogs_done=3,
        dialogs_total=8,
        current_dialog=dialog,
    )
    communicator, connected, _ = await _connect(viewer)
    assert connected
    _, live = await _snapshot(communicator)
    assert "hidden" not in live[: live.index(">")]
    assert (field(live, "messages_saved"), field(live, "dialogs_done"), field(live, "dialogs_total")) == (
        "500",
        "3",
        "8",
    )
    assert (field(live, "dialog_archived"), field(live, "dialog_total")) == ("300", "900")
    assert 40 <= float(field(live, "rate")) <= 51
    await communicator.disconnect()


async def test_a_finished_run_refreshes_the_runs_and_dialogs_tables(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    dialog = await sync_to_async(make_dialog)(instance, 42, "Alice", message_count=77)
    run = await ArchiveRun.objects.acreate(
        instance=instance, status=ArchiveStatus.DONE, messages_saved=4321, dialogs_done=1, dialogs_total=1
    )
    done = _progress(run_id=run.pk, status=ArchiveStatus.DONE, messages_saved=4321, dialog=None)
    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=done.as_event())
    live = await communicator.receive_from()
    assert field(live, "status") == "done" and "data-finished" in live and "Now archiving" not in live
    tables = await communicator.receive_from()
    assert top_ids(tables) == ["archive-dialogs", "archive-runs"]
    assert f'<tr id="run-{run.pk}">' in tables and ">4321<" in tables
    assert f'<tr id="dialog-{dialog.peer_id}">' in tables and ">77<" in tables
    await communicator.disconnect()


async def test_a_flood_wait_counts_down_each_second_without_events(instance, viewer, monkeypatch):
    from sessions_app import consumers

    monkeypatch.setattr(consumers, "POLL_SECONDS", FAST)
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    waiting = _progress(status=ArchiveStatus.FLOOD_WAIT, flood_wait_until=timezone.now() + timedelta(seconds=2.5))
    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=waiting.as_event())
    first = await communicator.receive_from()
    await communicator.receive_from()  # the dialog's cells
    shown = [int(field(first, "flood_wait_seconds"))]
    while True:
        live = await communicator.receive_from(timeout=3)
        if 'data-field="flood_wait_seconds"' not in live:
            break
        shown.append(int(field(live, "flood_wait_seconds")))
    assert shown == [3, 2, 1]  # one push per second, rounded up, then the line goes
    assert field(live, "status") == "waiting for Telegram"
    assert await communicator.receive_nothing(timeout=3 * FAST)  # nothing more once the wait is over
    await communicator.disconnect()


async def test_events_of_another_instance_do_not_arrive(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await sync_to_async(event_broadcast)(session="other-bot", kind="archive", data=_progress().as_event())
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_client_messages_and_events_without_html_are_ignored(instance, admin_user):
    communicator, connected, _ = await _connect(admin_user)  # a superuser sees every instance
    assert connected
    await _snapshot(communicator)
    await communicator.send_to(text_data="{not json")
    await communicator.send_json_to({"kind": "archive"})
    await sync_to_async(event_broadcast)(session="prod-bot", kind="login", data={"step": "code"})
    assert await communicator.receive_nothing()
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="status", data={"status": "active", "label": "active", "error": ""}
    )
    assert 'id="status"' in await communicator.receive_from()
    await communicator.disconnect()


async def test_progress_written_by_a_worker_process_reaches_the_socket(instance, viewer, monkeypatch):
    """In-memory layer: the worker cannot broadcast to this process, so the consumer reads the DB."""
    from sessions_app import consumers

    monkeypatch.setattr(consumers, "POLL_SECONDS", FAST)
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    run = await ArchiveRun.objects.acreate(
        instance=instance, status=ArchiveStatus.RUNNING, started_at=timezone.now(), messages_saved=10
    )
    first = await communicator.receive_from(timeout=5)
    assert field(first, "run_id") == str(run.pk) and field(first, "messages_saved") == "10"
    await ArchiveRun.objects.filter(pk=run.pk).aupdate(
        messages_saved=900, status=ArchiveStatus.DONE, finished_at=timezone.now()
    )
    later = await communicator.receive_from(timeout=5)
    assert field(later, "messages_saved") == "900" and field(later, "status") == "done"
    assert top_ids(await communicator.receive_from(timeout=5)) == ["archive-dialogs", "archive-runs"]
    assert await communicator.receive_nothing(timeout=3 * FAST)  # an unchanged run is not pushed again
    await communicator.disconnect()


async def test_it_closes_with_4404_when_the_role_is_taken_away(instance, viewer, monkeypatch):
    from sessions_app import consumers

    monkeypatch.setattr(consumers, "POLL_SECONDS", FAST)
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await Membership.objects.filter(user=viewer).adelete()
    message = await communicator.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": 4404}
    await communicator.wait()
