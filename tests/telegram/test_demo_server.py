"""bench/_demo_server.py: the demo Telegram answering from a process of its own, over a Unix socket.

The archive bench's throughput figures run against it, so its answers must be the in-process
world's: the same dialogs and history, Telegram's errors as Telethon's, the two-IP rule kept, and
a server that goes away failing the requests instead of hanging them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telethon import errors, functions

from bench import _demo_server
from sessions_app.telegram.fake import DemoTelegram
from tests.telegram.contract.harness import ADA, CY, Harness, ManualClock, dialog, session_of, signed_in

pytestmark = pytest.mark.asyncio


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Harness, Harness, Any]]:
    """(in-process harness, harness whose clients talk to the server, the server process) on one world file."""
    path = tmp_path / "world.sqlite3"
    local = DemoTelegram(str(path))
    local.seed_messages(ADA, per_dialog=230, dialogs=3)
    process, address = _demo_server.start_server(path, tmp_path)
    try:
        remote = _demo_server.remote_world(path, address)
        yield Harness(world=local, clock=ManualClock()), Harness(world=remote, clock=ManualClock()), process
    finally:
        _demo_server.wait_gone(process)


async def _history(telegram: Harness, session: str) -> dict[str, list[tuple[int, str]]]:
    client = telegram.client(session)
    await client.connect()
    try:
        found = {}
        async for each in client.iter_dialogs():
            found[each.name] = [(m.id, m.message or "") async for m in client.iter_messages(each.entity, wait_time=0)]
        return found
    finally:
        await client.disconnect()


async def test_the_server_answers_what_the_world_in_this_process_answers(served: tuple[Harness, Harness, Any]) -> None:
    local, remote, _process = served
    session = await session_of(remote, ADA)  # signed in over the socket
    here, there = await _history(local, session), await _history(remote, session)
    assert there == here
    assert sum(len(messages) for messages in there.values()) > 700
    client = await signed_in(remote, ADA)
    news = (await dialog(client, "Demo News")).input_entity
    window = [m.id async for m in client.iter_messages(news, reverse=True, min_id=100, limit=30, wait_time=0)]
    assert window == list(range(101, 131))
    await client.disconnect()


async def test_requests_are_counted_by_the_server(served: tuple[Harness, Harness, Any]) -> None:
    _local, remote, _process = served
    client = await signed_in(remote, ADA)
    remote.world.requests.clear()
    news = (await dialog(client, "Demo News")).input_entity
    assert len([m async for m in client.iter_messages(news, wait_time=0)]) > 200
    assert remote.world.requests[("messages.getHistory", "ok")] == 3  # 100 a page
    await client.disconnect()


async def test_telegram_errors_arrive_as_telethons_own(served: tuple[Harness, Harness, Any]) -> None:
    _local, remote, _process = served
    client = await signed_in(remote, CY)
    gone = await dialog(client, "Demo Gone Private")
    with pytest.raises(errors.ChannelPrivateError):
        await client.get_messages(gone.input_entity, limit=5)
    assert (await client.get_me()).phone == CY  # one refused request leaves the connection up
    await client.disconnect()


async def test_one_key_from_two_addresses_is_destroyed_across_the_socket(served: tuple[Harness, Harness, Any]) -> None:
    local, remote, _process = served
    session = await session_of(remote, ADA)
    here = local.client(session, ip="203.0.113.7")
    there = remote.client(session, ip="198.51.100.4")
    await here.connect()
    await here.get_me()
    with pytest.raises(errors.AuthKeyDuplicatedError):  # its first request, initConnection, is refused
        await there.connect()
    await here.disconnect()
    await there.disconnect()


async def test_a_server_that_goes_away_fails_the_requests_on_their_way(served: tuple[Harness, Harness, Any]) -> None:
    _local, remote, process = served
    client = await signed_in(remote, ADA)
    _demo_server.wait_gone(process)
    with pytest.raises(ConnectionError):
        await client(functions.users.GetFullUserRequest("me"))
    await client.disconnect()
