"""`manage.py demo_connector SESSION`: a connector's hold on its key, in demo mode, and what it does to a second user."""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from telethon import errors

from sessions_app.storage import get_session_storage
from sessions_app.telegram.fake import DemoTelegram
from tests.telegram.contract.harness import ADA_ID, CONNECTOR_IP, OTHER_IP, Harness, ManualClock, session_of

REPO = Path(__file__).resolve().parents[2]
SESSION = "prod-bot"
WAIT = 20  # seconds before a test gives up on the command


@pytest.fixture
def world(settings, tmp_path) -> DemoTelegram:
    settings.TELEGRAM_DEMO = True
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo-telegram.sqlite3")
    return DemoTelegram.from_settings()


async def _stored_session(world: DemoTelegram) -> str:
    """A signed-in session string, saved as SESSION's store object (what the connector loads)."""
    session = await session_of(Harness(world=world, clock=ManualClock()))
    get_session_storage().save(SESSION, session, expected_etag=None)
    return session


async def _get_me(world: DemoTelegram, session: str, ip: str | None = None) -> Any:
    client = world.client_factory(session, api_id=1, api_hash="0" * 32, **({"ip": ip} if ip else {}))
    try:
        await client.connect()
        return await client.get_me()
    finally:
        await client.disconnect()


class Lines:
    """A stdout for call_command that a test can wait on, line by line."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> None:
        for line in text.splitlines():
            self.lines.put(line)

    def flush(self) -> None:
        pass

    async def next(self) -> str:
        return await asyncio.to_thread(self.lines.get, timeout=WAIT)


class InThread:
    """The command running in a thread of this process (same settings, same demo world)."""

    def __init__(self, *args: str) -> None:
        self.out = Lines()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=args, daemon=True)
        self.thread.start()

    def _run(self, *args: str) -> None:
        try:
            call_command("demo_connector", *args, stdout=self.out)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    async def wait(self) -> None:
        await asyncio.to_thread(self.thread.join, WAIT)
        assert not self.thread.is_alive(), "demo_connector did not stop"


# -- refusals -----------------------------------------------------------------------------------


def test_it_refuses_outside_demo_mode(world, settings) -> None:
    settings.TELEGRAM_DEMO = False
    with pytest.raises(CommandError, match="only runs in demo mode"):
        call_command("demo_connector", SESSION)


def test_it_refuses_a_missing_store_object(world) -> None:
    with pytest.raises(CommandError, match="empty or missing"):
        call_command("demo_connector", SESSION)


@pytest.mark.asyncio
async def test_it_refuses_an_empty_store_object(world) -> None:
    await _stored_session(world)
    store = get_session_storage()
    store.clear(SESSION, expected_etag=store.head(SESSION).etag)
    with pytest.raises(CommandError, match="empty or missing"):
        call_command("demo_connector", SESSION)


def test_it_refuses_a_store_object_that_is_not_a_session_string(world) -> None:
    get_session_storage().save(SESSION, "hello", expected_etag=None)
    with pytest.raises(CommandError, match="not a Telethon session string"):
        call_command("demo_connector", SESSION)


@pytest.mark.asyncio
async def test_it_says_when_the_stored_key_does_not_work(world) -> None:
    session = await _stored_session(world)
    world.terminate(session)
    with pytest.raises(CommandError, match="does not work: Telegram answered AUTH_KEY_UNREGISTERED"):
        await asyncio.to_thread(call_command, "demo_connector", SESSION, "--seconds", "5")


def test_it_refuses_an_ip_that_is_not_one(world) -> None:
    with pytest.raises(CommandError, match="--ip"):
        call_command("demo_connector", SESSION, "--ip", "203.0.113.999")


# -- holding, in a thread -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_while_it_holds_the_key_a_request_from_elsewhere_kills_the_key(world) -> None:
    session = await _stored_session(world)
    command = InThread(SESSION, "--seconds", str(WAIT))
    assert await command.out.next() == f"holding {SESSION} from {CONNECTOR_IP} as Ada Demo; Ctrl+C to stop"
    assert world.connected_ips(session) == [CONNECTOR_IP]
    with pytest.raises(errors.AuthKeyDuplicatedError):
        await _get_me(world, session)  # the dashboard using the connector's key: the default IP
    await command.wait()
    assert isinstance(command.error, CommandError)
    assert f"the key of {SESSION} died while held from {CONNECTOR_IP}" in str(command.error)
    assert "AUTH_KEY_UNREGISTERED" in str(command.error)  # what its next heartbeat request heard
    assert not world.is_authorized(session)
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await _get_me(world, session, OTHER_IP)


@pytest.mark.asyncio
async def test_after_it_stops_the_key_is_usable_from_another_ip(world) -> None:
    session = await _stored_session(world)
    command = InThread(SESSION, "--ip", OTHER_IP, "--seconds", "1.5")
    assert (await command.out.next()).startswith(f"holding {SESSION} from {OTHER_IP} as Ada Demo")
    await command.wait()
    assert command.error is None
    assert await command.out.next() == f"stopped holding {SESSION}"
    assert world.connected_ips(session) == []
    assert (await _get_me(world, session)).id == ADA_ID


@pytest.mark.asyncio
async def test_the_connector_shows_up_with_its_device_and_ip_while_holding(world) -> None:
    session = await _stored_session(world)
    command = InThread(SESSION, "--seconds", "1.5")
    await command.out.next()
    held = [a for a in world.authorizations(ADA_ID) if a.device_model == "teleconnect connector demo"]
    assert [a.ip for a in held] == [CONNECTOR_IP]
    await command.wait()
    assert command.error is None and world.is_authorized(session)


# -- holding, in another process ----------------------------------------------------------------


def _start(tmp_path: Path, settings, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AWS_", "SESSION_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="teleconnect.settings",
        TELECONNECT_VAR_DIR=str(tmp_path / "var"),
        TELEGRAM_DEMO_STATE=str(settings.TELEGRAM_DEMO_STATE),
        SESSION_STORE_DIR=str(settings.SESSION_STORE_DIR),
        PYTHONUNBUFFERED="1",
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "demo_connector", SESSION, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), WAIT)
    if not line:
        _, err = process.communicate(timeout=WAIT)
        raise AssertionError(f"demo_connector exited {process.returncode}: {err}")
    return line.rstrip("\n")


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_connector_process_loses_its_key_to_a_request_from_this_one(world, settings, tmp_path) -> None:
    session = await _stored_session(world)
    process = _start(tmp_path, settings, "--seconds", "60")
    try:
        assert await _first_line(process) == f"holding {SESSION} from {CONNECTOR_IP} as Ada Demo; Ctrl+C to stop"
        assert world.connected_ips(session) == [CONNECTOR_IP]
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await _get_me(world, session)
        out, err = await asyncio.to_thread(process.communicate, timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert f"the key of {SESSION} died while held from {CONNECTOR_IP}" in err and "AUTH_KEY_UNREGISTERED" in err
    assert not world.is_authorized(session)


@pytest.mark.slow
@pytest.mark.asyncio
async def test_a_connector_process_stopped_with_sigterm_lets_the_key_go(world, settings, tmp_path) -> None:
    session = await _stored_session(world)
    process = _start(tmp_path, settings)
    try:
        assert (await _first_line(process)).startswith(f"holding {SESSION} from {CONNECTOR_IP}")
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.to_thread(process.communicate, timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.strip() == f"stopped holding {SESSION}"
    assert world.connected_ips(session) == []
    assert (await _get_me(world, session, OTHER_IP)).id == ADA_ID
