"""Item 9: a role taken away closes the open websocket at once, whatever the channel layer; the two-step code counts."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from django.contrib.auth import get_user_model
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.models import Membership, Role
from tests.archive_ui.test_consumer import _close_code, _connect, _session_cookie, _snapshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.usefixtures("close_thread_connections"),
]


@pytest.fixture(autouse=True)
def _no_polling(monkeypatch):
    """The consumer's once-a-second DB poll (in-memory layer only) is pushed out of the test's reach.

    With Redis (production) there is no poll: only the membership event can close the socket.
    """
    from sessions_app import consumers

    channel_layers.backends.clear()
    monkeypatch.setattr(consumers, "POLL_SECONDS", 3600)
    yield
    channel_layers.backends.clear()


async def test_removing_the_membership_closes_the_open_socket_at_once(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await Membership.objects.filter(user=viewer).adelete()
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}
    await communicator.wait()


async def test_deleting_the_user_closes_their_socket(instance, viewer):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await get_user_model().objects.filter(pk=viewer.pk).adelete()
    assert (await communicator.receive_output(timeout=3))["code"] == 4404
    await communicator.wait()


async def test_another_users_role_change_leaves_the_socket_open(instance, viewer, operator):
    communicator, connected, _ = await _connect(viewer)
    assert connected
    await _snapshot(communicator)
    await Membership.objects.filter(user=operator).adelete()
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_a_lowered_role_keeps_the_socket_and_drops_the_operators_parts(instance, operator):
    from sessions_app.services.events import event_broadcast

    communicator, connected, _ = await _connect(operator)
    assert connected
    await _snapshot(communicator)
    membership = await Membership.objects.aget(user=operator)
    membership.role = Role.VIEWER
    await membership.asave()
    assert await communicator.receive_nothing(timeout=0.3)  # still open
    from sessions_app.selectors.archive import ArchiveProgress

    progress = ArchiveProgress(
        run_id=1, status="running", messages_saved=5, dialogs_done=0, dialogs_total=1, rate=0.0,
        flood_wait_until=None, dialog=None,
    )  # fmt: skip
    await sync_to_async(event_broadcast)(session="prod-bot", kind="archive", data=progress.as_event())
    live = await communicator.receive_from(timeout=3)
    assert 'id="archive-live"' in live and 'id="archive-start"' not in live  # no start button for a viewer
    await communicator.disconnect()


async def test_a_session_that_has_not_entered_its_two_step_code_is_refused(instance, viewer):
    await TOTPDevice.objects.acreate(user=viewer, name="app", confirmed=True)
    assert await _close_code(viewer) == 4401


async def test_a_session_that_entered_its_two_step_code_is_let_in(instance, viewer):
    from channels.testing import WebsocketCommunicator
    from django.contrib.sessions.backends.db import SessionStore

    from teleconnect.asgi import application

    device = await TOTPDevice.objects.acreate(user=viewer, name="app", confirmed=True)
    cookie = await sync_to_async(_session_cookie)(viewer)
    key = cookie.decode().split("=", 1)[1]

    def mark_verified() -> None:
        store = SessionStore(session_key=key)
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.save()

    await sync_to_async(mark_verified)()
    communicator = WebsocketCommunicator(
        application, "/ws/instances/prod-bot/", headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert 'id="status"' in await communicator.receive_from(timeout=3)
    await communicator.disconnect()


async def test_with_team_require_2fa_an_owner_without_a_device_is_refused(instance, owner, settings):
    settings.TEAM_REQUIRE_2FA = True
    assert await _close_code(owner) == 4401
