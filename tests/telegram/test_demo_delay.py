"""The demo Telegram's answer delay (TELEGRAM_DEMO_DELAY_SECONDS): network latency, not a blocked loop.

Ordering only, never durations: an answer held back by the delay comes after a callback the
event loop was asked to run half-way through it.
"""

from __future__ import annotations

import asyncio

import pytest
from django.core.exceptions import ImproperlyConfigured

from sessions_app.telegram.fake import DemoTelegram
from teleconnect.env import env_float
from tests.telegram.contract.harness import ADA, Harness, ManualClock, connected

DELAY = 0.2


@pytest.fixture
def demo() -> Harness:
    clock = ManualClock()
    return Harness(world=DemoTelegram(None, clock=clock), clock=clock)


async def _order_of_events(demo: Harness) -> list[str]:
    """Send a code; halfway through the delay a timer fires. Which came first?"""
    client = await connected(demo)
    events: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        loop.call_later(DELAY / 2, events.append, "the loop ran a timer")
        sent = await client.send_code_request(ADA)
        events.append("Telegram answered")
        assert sent.phone_code_hash
        await asyncio.sleep(DELAY)  # the timer has fired by now in every case
    finally:
        await client.disconnect()
    return events


@pytest.mark.asyncio
async def test_a_delayed_answer_lets_the_event_loop_run_meanwhile(demo: Harness) -> None:
    demo.world.answer_delay = DELAY

    assert await _order_of_events(demo) == ["the loop ran a timer", "Telegram answered"]


@pytest.mark.asyncio
async def test_without_a_delay_the_answer_comes_first(demo: Harness) -> None:
    assert await _order_of_events(demo) == ["Telegram answered", "the loop ran a timer"]


@pytest.mark.asyncio
async def test_a_request_still_on_its_way_when_the_client_disconnects_is_cancelled(demo: Harness) -> None:
    demo.world.answer_delay = DELAY
    client = await connected(demo)
    pending = asyncio.ensure_future(client.send_code_request(ADA))
    await asyncio.sleep(0)  # the request is sent and waits for its answer
    await client.disconnect()
    with pytest.raises((asyncio.CancelledError, ConnectionError)):
        await pending
    assert demo.world.history_of(ADA)  # the world is still fine


def test_the_setting_sets_the_delay_of_the_world_from_settings(settings, tmp_path):
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo.sqlite3")
    settings.TELEGRAM_DEMO_DELAY_SECONDS = 1.5
    assert DemoTelegram.from_settings().answer_delay == 1.5
    settings.TELEGRAM_DEMO_DELAY_SECONDS = 0.0
    assert DemoTelegram.from_settings().answer_delay == 0.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_a_malformed_delay_names_the_variable(monkeypatch, value):
    monkeypatch.setenv("TELEGRAM_DEMO_DELAY_SECONDS", value)
    with pytest.raises(ImproperlyConfigured, match="TELEGRAM_DEMO_DELAY_SECONDS"):
        env_float("TELEGRAM_DEMO_DELAY_SECONDS", 0.0, minimum=0.0)


def test_a_delay_in_fractions_of_a_second_is_read(monkeypatch):
    monkeypatch.setenv("TELEGRAM_DEMO_DELAY_SECONDS", " 0.05 ")
    assert env_float("TELEGRAM_DEMO_DELAY_SECONDS", 0.0, minimum=0.0) == 0.05
    monkeypatch.delenv("TELEGRAM_DEMO_DELAY_SECONDS")
    assert env_float("TELEGRAM_DEMO_DELAY_SECONDS", 0.0, minimum=0.0) == 0.0
