"""The instance websocket through the real ASGI stack: origin check, session auth, roles, events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus
from sessions_app.services.events import event_broadcast
from teleconnect.asgi import application

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]

PATH = "/ws/instances/prod-bot/"
ORIGIN = (b"origin", b"http://127.0.0.1")


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


async def test_an_anonymous_socket_is_refused_with_4401(instance):
    communicator, connected, code = await _connect()
    assert (connected, code) == (False, 4401)
    await communicator.disconnect()


async def test_an_outsider_is_refused_with_4403(instance, outsider):
    communicator, connected, code = await _connect(outsider)
    assert (connected, code) == (False, 4403)
    await communicator.disconnect()


async def test_an_unknown_instance_looks_the_same_as_a_forbidden_one(instance, viewer):
    communicator, connected, code = await _connect(viewer, path="/ws/instances/no-such-bot/")
    assert (connected, code) == (False, 4403)
    await communicator.disconnect()


async def test_a_foreign_origin_is_refused(instance, viewer):
    communicator, connected, _ = await _connect(viewer, origin=(b"origin", b"https://evil.example"))
    assert connected is False
    await communicator.disconnect()


async def test_a_viewer_gets_a_snapshot_then_the_broadcast_events(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    snapshot = await communicator.receive_json_from()
    assert snapshot == {"kind": "snapshot", "data": {"status": "new", "label": "new", "run": None}}

    progress = {
        "run_id": 1, "status": "flood_wait", "messages_saved": 250, "dialogs_done": 1, "dialogs_total": 4, "rate": 41.5,
        "flood_wait_seconds": 12, "dialog": {"peer_id": -100555, "title": "News", "archived": 250, "total": 1000},
    }  # fmt: skip
    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=progress)
    assert await communicator.receive_json_from() == {"kind": "archive", "data": progress}
    await sync_to_async(event_broadcast)(
        session="prod-bot", kind="status", data={"status": "active", "label": "active", "error": ""}
    )
    assert await communicator.receive_json_from() == {
        "kind": "status", "data": {"status": "active", "label": "active", "error": ""}
    }  # fmt: skip
    await communicator.disconnect()


async def test_the_snapshot_carries_the_active_run(instance, viewer):
    await ArchiveRun.objects.acreate(
        instance=instance,
        status=ArchiveStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=10),
        messages_saved=500,
        dialogs_done=3,
        dialogs_total=8,
    )
    communicator, connected, _ = await _connect(viewer)
    assert connected
    run = (await communicator.receive_json_from())["data"]["run"]
    assert run["status"] == "running" and run["messages_saved"] == 500
    assert (run["dialogs_done"], run["dialogs_total"], run["flood_wait_seconds"], run["dialog"]) == (3, 8, 0, None)
    assert 40 <= run["rate"] <= 51
    await communicator.disconnect()


async def test_events_of_another_instance_do_not_arrive(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await communicator.receive_json_from()
    await sync_to_async(event_broadcast)(session="other-bot", kind="archive", data={"run_id": 9})
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_client_messages_are_ignored_even_when_not_json(instance, admin_user):
    communicator, connected, _ = await _connect(admin_user)  # a superuser sees every instance
    assert connected
    await communicator.receive_json_from()
    await communicator.send_to(text_data="{not json")
    await communicator.send_json_to({"kind": "archive"})
    assert await communicator.receive_nothing()
    await sync_to_async(event_broadcast)(session="prod-bot", kind="login", data={"step": "code"})
    assert await communicator.receive_json_from() == {"kind": "login", "data": {"step": "code"}}
    await communicator.disconnect()


async def test_progress_written_by_a_worker_process_reaches_the_socket(instance, viewer, monkeypatch):
    """In-memory layer: the worker cannot broadcast to this process, so the consumer reads the DB."""
    from sessions_app import consumers

    monkeypatch.setattr(consumers, "POLL_SECONDS", 0.05)
    run = await ArchiveRun.objects.acreate(instance=instance, status=ArchiveStatus.RUNNING, started_at=timezone.now(), messages_saved=10)
    communicator, connected, _ = await _connect(viewer)
    assert connected
    assert (await communicator.receive_json_from())["kind"] == "snapshot"
    first = await communicator.receive_json_from(timeout=5)
    assert first["kind"] == "archive" and first["data"]["messages_saved"] == 10
    await ArchiveRun.objects.filter(pk=run.pk).aupdate(messages_saved=900, status=ArchiveStatus.DONE)
    later = await communicator.receive_json_from(timeout=5)
    assert later["data"]["messages_saved"] == 900 and later["data"]["status"] == "done"
    await communicator.disconnect()
