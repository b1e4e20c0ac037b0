"""Test plumbing for the Telegram boundary: TELEGRAM_CLIENT_FACTORY points here, at the current world.

The factory contract is a dotted path, so tests swap the world behind one stable function
instead of patching the product.
"""

from __future__ import annotations

from typing import Any

from sessions_app.telegram.fake import DemoTelegram

_current: dict[str, DemoTelegram] = {}


def use_world(world: DemoTelegram) -> None:
    _current["world"] = world


def telegram_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any):
    return _current["world"].client_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


class CountingFactory:
    """Wraps the world's factory to count clients built (statelessness: one fresh client per step)."""

    built = 0


def counting_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any):
    CountingFactory.built += 1
    return telegram_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


def unreachable_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any):
    """A real TelegramClient whose DC is a closed port on 127.0.0.1: connecting fails at once."""
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    string = StringSession(session)
    string.set_dc(2, "127.0.0.1", 9)
    return TelegramClient(
        string, api_id or 1, api_hash or "0" * 32, connection_retries=0, retry_delay=0, timeout=2, **client_kwargs
    )


def strict_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any):
    """Like many factories would: hands the credentials straight to TelegramClient (which refuses an empty pair)."""
    if not api_id or not api_hash:
        raise ValueError("Your API ID or Hash cannot be empty or None.")
    return telegram_factory(session, api_id=api_id, api_hash=api_hash, **client_kwargs)


def archived_messages(instance: Any) -> dict[int, list[tuple[int, str]]]:
    """What the archive holds for an instance: {peer id: [(message id, text), ...] ascending}, to compare
    with the demo Telegram's history_of()."""
    from sessions_app.models import Message

    found: dict[int, list[tuple[int, str]]] = {}
    for peer, message_id, text in (
        Message.objects.filter(instance=instance)
        .order_by("peer_id", "message_id")
        .values_list("peer_id", "message_id", "text")
    ):
        found.setdefault(peer, []).append((message_id, text))
    return found
