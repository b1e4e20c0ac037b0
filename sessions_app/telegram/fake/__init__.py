"""The demo Telegram: a fake MTProto sender under Telethon's real TelegramClient.

Only the network is fake. Telethon's own sign-in, SRP 2FA, PHONE_MIGRATE handling, error mapping,
iterators and StringSession run unchanged above :class:`FakeSender`, which answers from a
:class:`DemoTelegram` world (SQLite state shared across processes, or private in memory).
"""

from __future__ import annotations

from typing import Any

from telethon import TelegramClient

# Importing the handler modules registers what the demo DCs answer.
from sessions_app.telegram.fake import devices, files, login, messages, password, security, tokens  # noqa: F401
from sessions_app.telegram.fake.accounts import DEMO_ACCOUNTS, DemoAccount
from sessions_app.telegram.fake.sender import FakeSender
from sessions_app.telegram.fake.world import DemoAuthorization, DemoTelegram


def demo_client_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any) -> TelegramClient:
    """TELEGRAM_CLIENT_FACTORY in demo mode: a client of the world at settings.TELEGRAM_DEMO_STATE.

    ``client_kwargs`` (TelegramClient keywords such as device_model) pass through to the client.
    """
    return DemoTelegram.from_settings().client_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


__all__ = ["DEMO_ACCOUNTS", "DemoAccount", "DemoAuthorization", "DemoTelegram", "FakeSender", "demo_client_factory"]
