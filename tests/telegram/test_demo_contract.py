"""The demo Telegram meets the contract, private in memory and on a SQLite file shared with other processes."""

from __future__ import annotations

import pytest

from sessions_app.telegram.fake import DemoTelegram
from tests.telegram.contract import Harness, ManualClock, TelegramContract


class TestDemoTelegram(TelegramContract):
    @pytest.fixture(params=["memory", "sqlite"])
    def telegram(self, request: pytest.FixtureRequest, tmp_path) -> Harness:
        clock = ManualClock()
        if request.param == "memory":
            world = DemoTelegram(None, clock=clock)
            # In memory, "another process" is another client on the same private world.
            return Harness(world=world, clock=clock, reopen=lambda: world)
        path = str(tmp_path / "demo-telegram.sqlite3")
        return Harness(
            world=DemoTelegram(path, clock=clock), clock=clock, reopen=lambda: DemoTelegram(path, clock=clock)
        )
