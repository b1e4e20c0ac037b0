"""The demo Telegram beyond the contract: its knobs, its state file, its connections, its speed."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from telethon import errors, functions
from telethon.sessions import StringSession

from sessions_app.telegram.fake import DEMO_ACCOUNTS, DemoTelegram, demo_client_factory
from sessions_app.telegram.fake.connections import HEARTBEAT_SECONDS, LEASE_SECONDS
from sessions_app.telegram.fake.keys import signed
from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    CONNECTOR_IP,
    CY,
    OTHER_IP,
    Harness,
    ManualClock,
    connected,
    dialog,
    own_authorization,
    session_of,
    signed_in,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def demo() -> Harness:
    clock = ManualClock()
    return Harness(world=DemoTelegram(None, clock=clock), clock=clock)


async def test_the_demo_answers_unsupported_requests_with_a_clear_error(demo: Harness) -> None:
    client = await connected(demo)
    with pytest.raises(errors.BadRequestError) as refused:
        await client(functions.contacts.GetContactsRequest(hash=0))
    assert refused.value.message == "METHOD_NOT_SUPPORTED_BY_DEMO"
    await client.disconnect()


async def test_the_demo_accounts_follow_the_test_number_convention() -> None:
    for account in DEMO_ACCOUNTS:
        assert account.phone.startswith("99966") and int(account.phone[5]) == account.dc
        assert account.code == str(account.dc) * 5
    assert [a.phone for a in DEMO_ACCOUNTS if a.password is not None] == ["9996631002"]


async def test_a_shared_state_file_is_seeded_once(tmp_path) -> None:
    path = str(tmp_path / "state.sqlite3")
    first = DemoTelegram(path)
    hashes = {a.hash for a in first.authorizations(ADA_ID)}
    second = DemoTelegram(path)
    assert {a.hash for a in second.authorizations(ADA_ID)} == hashes and len(hashes) == 2


async def test_a_state_file_from_an_older_schema_is_rebuilt(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE auth_keys (key_id INTEGER PRIMARY KEY)")
    world = DemoTelegram(str(path), clock=ManualClock())
    assert len(world.authorizations(ADA_ID)) == 2


async def test_terminate_accepts_a_session_string_or_an_auth_key_id(demo: Harness) -> None:
    by_string, by_key = await session_of(demo), await session_of(demo)
    demo.world.terminate(by_string)
    demo.world.terminate(StringSession(by_key).auth_key.key_id)
    assert not demo.world.is_authorized(by_string) and not demo.world.is_authorized(by_key)
    with pytest.raises(LookupError):
        demo.world.terminate(by_key)


async def test_terminate_session_says_whether_there_was_a_session_to_end(demo: Harness) -> None:
    session = await session_of(demo)
    assert demo.world.terminate_session(session) is True
    assert demo.world.terminate_session(session) is False


async def test_the_current_authorization_is_the_one_that_spoke_last(demo: Harness) -> None:
    first, second = await session_of(demo), await session_of(demo)

    async def speak(session: str) -> list[int]:
        client = await connected(demo, session)
        await client.get_me()
        await client.disconnect()
        return [a.auth_key_id for a in demo.world.authorizations(ADA_ID) if a.current]

    assert await speak(first) == [signed(StringSession(first).auth_key.key_id)]
    assert await speak(second) == [signed(StringSession(second).auth_key.key_id)]


async def test_a_hundred_thousand_messages_seed_in_seconds_and_read_by_index(demo: Harness) -> None:
    started = time.perf_counter()
    demo.world.seed_messages(ADA, per_dialog=100_000, dialogs=1)
    assert time.perf_counter() - started < 10
    with demo.world.store.tx() as db:
        plan = " ".join(
            row[3]
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE owner = ? AND peer = ? AND id < ? AND id > ?"
                " ORDER BY id DESC LIMIT 100",
                (ADA_ID, 7200000001, 50_000, 0),
            )
        )
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan
    client = await signed_in(demo)
    contact = (await dialog(client, "Dana Contact")).input_entity
    started = time.perf_counter()
    page = await client.get_messages(contact, limit=100, offset_id=60_000)
    assert time.perf_counter() - started < 1
    assert page.total == 100_024 and [m.id for m in page] == list(range(59_999, 59_899, -1))
    await client.disconnect()


async def test_from_settings_reuses_one_world_per_state_file(settings, tmp_path) -> None:
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "nested" / "demo.sqlite3")
    assert DemoTelegram.from_settings() is DemoTelegram.from_settings()
    client = demo_client_factory("", api_id=0, api_hash="")
    await client.connect()
    assert await client.get_me() is None
    assert (await client.send_code_request(CY)).phone_code_hash  # migrates to DC1
    assert StringSession(client.session.save()).dc_id == 1
    await client.disconnect()


# -- connections: holding a key, leases, several processes ---------------------------------------


async def test_a_held_key_is_destroyed_by_a_request_from_another_ip(demo: Harness) -> None:
    session = await session_of(demo)
    with demo.world.hold(session, CONNECTOR_IP):
        assert demo.world.connected_ips(session) == [CONNECTOR_IP]
        client = demo.client(session)
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await client.connect()
        await client.disconnect()
    assert not demo.world.is_authorized(session)
    assert demo.world.connected_ips(session) == []


async def test_a_key_held_from_the_same_ip_or_released_is_usable(demo: Harness) -> None:
    session = await session_of(demo)
    with demo.world.hold(session, CONNECTOR_IP):
        client = await connected(demo, session, ip=CONNECTOR_IP)
        assert (await client.get_me()).id == ADA_ID
        await client.disconnect()
    client = await connected(demo, session, ip=OTHER_IP)
    assert (await client.get_me()).id == ADA_ID
    await client.disconnect()


async def test_hold_needs_a_session_string_with_a_key(demo: Harness) -> None:
    with pytest.raises(LookupError):
        with demo.world.hold("", CONNECTOR_IP):
            pass


async def test_connected_ips_lists_live_connections_until_they_disconnect(demo: Harness) -> None:
    session = await session_of(demo)
    first = await connected(demo, session, ip=CONNECTOR_IP)
    second = await connected(demo, session, ip=CONNECTOR_IP)
    assert demo.world.connected_ips(session) == [CONNECTOR_IP]
    await first.disconnect()
    assert demo.world.connected_ips(session) == [CONNECTOR_IP]
    await second.disconnect()
    assert demo.world.connected_ips(session) == []


async def test_a_connection_that_stops_renewing_lapses_with_its_lease(demo: Harness) -> None:
    session = await session_of(demo)
    crashed = await connected(demo, session, ip=CONNECTOR_IP)
    await crashed.get_me()
    crashed._sender._heartbeat.cancel()  # the process died: nothing renews, nothing disconnects
    demo.clock.advance(LEASE_SECONDS - 1)
    assert demo.world.connected_ips(session) == [CONNECTOR_IP]
    demo.clock.advance(1)
    assert demo.world.connected_ips(session) == []
    client = await connected(demo, session)
    assert (await client.get_me()).id == ADA_ID
    await client.disconnect()


async def test_the_heartbeat_keeps_an_idle_connection_live(demo: Harness) -> None:
    session = await session_of(demo)
    idle = await connected(demo, session, ip=CONNECTOR_IP)
    demo.clock.advance(LEASE_SECONDS - 1)
    await asyncio.sleep(HEARTBEAT_SECONDS * 1.5)  # one heartbeat, no request
    demo.clock.advance(LEASE_SECONDS - 1)  # past the first lease
    assert demo.world.connected_ips(session) == [CONNECTOR_IP]
    client = demo.client(session)
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await client.connect()
    await client.disconnect()
    await idle.disconnect()


async def test_a_key_held_in_one_process_is_destroyed_by_a_request_in_another(tmp_path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    connector_side, dashboard_side = DemoTelegram(path), DemoTelegram(path)
    telegram = Harness(world=dashboard_side, clock=ManualClock())
    session = await session_of(telegram)
    with connector_side.hold(session, CONNECTOR_IP):
        assert dashboard_side.connected_ips(session) == [CONNECTOR_IP]
        client = telegram.client(session)
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await client.connect()
        await client.disconnect()
    assert not connector_side.is_authorized(session)


async def test_the_authorization_shows_the_ip_of_the_latest_request(demo: Harness) -> None:
    session = await session_of(demo)
    client = await connected(demo, session, ip=OTHER_IP)
    await client.get_me()
    await client.disconnect()
    assert {
        a.ip
        for a in demo.world.authorizations(ADA_ID)
        if a.auth_key_id == signed(StringSession(session).auth_key.key_id)
    } == {OTHER_IP}


# -- clients and login tokens -------------------------------------------------------------------


async def test_demo_client_factory_passes_client_keywords_through(settings, tmp_path) -> None:
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo.sqlite3")
    client = demo_client_factory("", api_id=0, api_hash="", device_model="Kiosk", ip=CONNECTOR_IP)
    await client.connect()
    assert client._init_request.device_model == "Kiosk" and client._sender.ip == CONNECTOR_IP
    await client.disconnect()


async def test_the_factory_defaults_apply_unless_the_caller_overrides_them(demo: Harness) -> None:
    default = await signed_in(demo)
    assert (await own_authorization(default)).device_model == "teleconnect"
    assert default._no_updates  # receive_updates=False unless asked
    await default.disconnect()


async def test_approve_qr_refuses_a_token_twice_and_names_telegrams_reason(demo: Harness) -> None:
    client = await connected(demo)
    qr = await client.qr_login()
    demo.world.approve_qr(qr.token, ADA)
    with pytest.raises(ValueError, match="AUTH_TOKEN_ALREADY_ACCEPTED"):
        demo.world.approve_qr(qr.token, CY)
    with pytest.raises(ValueError, match="not a demo account"):
        demo.world.approve_qr(qr.token, "9996625555")
    assert [a.unconfirmed for a in demo.world.authorizations(ADA_ID)].count(True) == 1
    await client.disconnect()
