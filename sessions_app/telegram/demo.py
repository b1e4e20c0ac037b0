"""Demo-mode helpers: what a person would do on their phone, or a connector on its machine, done by the demo Telegram."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from telethon import errors, functions, types
from telethon.errors.rpcerrorlist import rpc_errors_dict

from sessions_app.telegram.bridge import run_sync
from sessions_app.telegram.client import DEMO_CREDENTIALS, check_session_string
from sessions_app.telegram.errors import TelegramError, translate

if TYPE_CHECKING:
    from sessions_app.telegram.fake import DemoTelegram

CONNECTOR_DEVICE = "teleconnect connector demo"
CONNECTOR_IP = "203.0.113.7"  # TEST-NET-3: a label for the connector's machine, never contacted
HEARTBEAT_SECONDS = 1.0  # the demo connector's request rhythm (updates.getState)
_POLL_SECONDS = 0.1  # how soon a stop request is noticed

# Answers that mean the key itself is gone, not that one request failed.
_DEAD_KEY = (errors.UnauthorizedError, errors.AuthKeyError, errors.AuthKeyNotFound)


def _telegram_name(error: BaseException) -> str:
    """Telegram's own words for an error (Telethon's error classes keep only a generic message)."""
    if isinstance(error, errors.AuthKeyNotFound):
        return "AUTH_KEY_NOT_FOUND (-404)"
    name = next((name for name, cls in rpc_errors_dict.items() if type(error) is cls), None)
    return name or str(getattr(error, "message", type(error).__name__))


def demo_available() -> bool:
    return (
        settings.TELEGRAM_DEMO and settings.TELEGRAM_CLIENT_FACTORY == "sessions_app.telegram.fake.demo_client_factory"
    )


def demo_approve_qr(*, qr_url: str, phone: str) -> None:
    """Scan the QR code "with the phone" of a demo account (only in demo mode)."""
    from sessions_app.telegram.fake import DemoTelegram

    if not demo_available():
        raise TelegramError("Simulated scanning only exists in demo mode.")
    token = qr_url.split("token=", 1)[-1]
    try:
        DemoTelegram.from_settings().approve_qr(
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)), phone.lstrip("+")
        )
    except (ValueError, LookupError) as exc:
        raise TelegramError(f"The demo Telegram refused the scan: {exc}") from None


@dataclass(frozen=True)
class ConnectorRun:
    """How a demo connector run ended (no secrets)."""

    account_name: str  # who the key was signed in as; "" when it never got that far
    key_died: str  # Telegram's answer that killed the key (e.g. AUTH_KEY_DUPLICATED); "" when stopped


def demo_connector_hold(
    session: str,
    *,
    ip: str = CONNECTOR_IP,
    seconds: float | None = None,
    stop: threading.Event | None = None,
    on_holding: Callable[[str], None] = lambda name: None,
) -> ConnectorRun:
    """Behave like a connector service on the demo Telegram: hold ``session``'s key connected from ``ip``.

    Connects, makes one request (get_me), calls ``on_holding`` with the account's name, then sends
    a request every second (updates.getState, as a connector following updates does) until
    ``stop`` is set, ``seconds`` have passed, or Telegram answers that the key is dead. Uses the
    world at settings.TELEGRAM_DEMO_STATE whatever TELEGRAM_CLIENT_FACTORY says: the point is a
    second party on the same demo Telegram as the dashboard.
    """
    from sessions_app.telegram.fake import DemoTelegram

    check_session_string(session)
    stop = stop or threading.Event()

    async def hold() -> ConnectorRun:
        loop = asyncio.get_running_loop()
        client = DemoTelegram.from_settings().client_factory(
            session,
            api_id=DEMO_CREDENTIALS.api_id,
            api_hash=DEMO_CREDENTIALS.api_hash,
            ip=ip,
            device_model=CONNECTOR_DEVICE,
        )
        client.flood_sleep_threshold = 0
        name = ""
        try:
            await client.connect()
            me = await client.get_me()
            if not isinstance(me, types.User):  # get_me() swallows the 401 of a key signed in to nobody
                return ConnectorRun(account_name="", key_died="AUTH_KEY_UNREGISTERED")
            name = " ".join(part for part in (me.first_name, me.last_name) if part) or str(me.id)
            on_holding(name)
            deadline = None if seconds is None else loop.time() + seconds
            next_beat = loop.time() + HEARTBEAT_SECONDS
            while not stop.is_set() and (deadline is None or loop.time() < deadline):
                if loop.time() >= next_beat:
                    await client(functions.updates.GetStateRequest())
                    next_beat = loop.time() + HEARTBEAT_SECONDS
                await asyncio.sleep(_POLL_SECONDS)
            return ConnectorRun(account_name=name, key_died="")
        except _DEAD_KEY as dead:
            return ConnectorRun(account_name=name, key_died=_telegram_name(dead))
        finally:
            await client.disconnect()

    try:
        return run_sync(hold)
    except TelegramError:
        raise
    except Exception as exc:  # noqa: BLE001 - every other Telethon/network failure is translated
        raise translate(exc) from exc


def demo_terminate_all_from_phone(phone: str) -> int:
    """The owner taps "Terminate all other sessions" on the demo account's phone; how many sessions ended."""
    from sessions_app.telegram.fake import DemoTelegram

    if not demo_available():
        raise TelegramError("The owner's phone only exists in demo mode.")
    try:
        return DemoTelegram.from_settings().terminate_all_from_phone(phone.lstrip("+"))
    except ValueError as exc:
        raise TelegramError(f"The demo Telegram refused: {exc}") from None


def demo_stumble_next_minted_keys(count: int) -> None:
    """The next `count` keys minted by login token answer AUTH_KEY_UNREGISTERED once (demo mode only)."""
    from sessions_app.telegram.fake import DemoTelegram

    if not demo_available():
        raise TelegramError("Stumbling keys only exist in demo mode.")
    DemoTelegram.from_settings().stumble_next_minted_keys(count)


# --- The security watch (issue 18): what happens to an account behind the dashboard's back -----------


def _demo_world(what: str) -> DemoTelegram:
    from sessions_app.telegram.fake import DemoTelegram

    if not demo_available():
        raise TelegramError(f"{what} only exists in demo mode.")
    return DemoTelegram.from_settings()


@contextmanager
def _knob(what: str) -> Iterator[DemoTelegram]:
    """The demo world for one knob; what it refuses (an unknown number, say) as a TelegramError."""
    world = _demo_world(what)
    try:
        yield world
    except (ValueError, LookupError) as exc:
        raise TelegramError(f"The demo Telegram refused: {exc}") from None


def demo_foreign_login(
    phone: str,
    *,
    device_model: str = "iPhone 15 Pro",
    platform: str = "iOS",
    app_name: str = "Telegram iOS",
    app_version: str = "12.2",
    api_id: int = 6,
    ip: str = "198.51.100.23",
    country: str = "NL",
) -> int:
    """Someone the team does not know logs in to the demo account; the new authorization's hash."""
    with _knob("A stranger's login") as world:
        return world.foreign_login(
            phone.lstrip("+"),
            device_model=device_model,
            platform=platform,
            app_name=app_name,
            app_version=app_version,
            api_id=api_id,
            ip=ip,
            country=country,
        )


def demo_two_step_off(phone: str) -> None:
    """The owner switches two-step verification off on the demo account's phone."""
    with _knob("The owner's phone") as world:
        world.two_step_off(phone.lstrip("+"))


def demo_ban(phone: str, *, deleted: bool = False) -> None:
    """Telegram bans (or deletes) the demo account: every key of it answers USER_DEACTIVATED_BAN (USER_DEACTIVATED)."""
    with _knob("Banning an account") as world:
        world.ban(phone.lstrip("+"), deleted=deleted)


def demo_unban(phone: str) -> None:
    with _knob("Banning an account") as world:
        world.unban(phone.lstrip("+"))


def demo_freeze(phone: str, *, appeal_url: str = "https://t.me/spambot") -> None:
    """Telegram freezes the demo account: acting methods answer FROZEN_METHOD_INVALID."""
    with _knob("Freezing an account") as world:
        world.freeze(phone.lstrip("+"), appeal_url=appeal_url)


def demo_unfreeze(phone: str) -> None:
    with _knob("Freezing an account") as world:
        world.unfreeze(phone.lstrip("+"))


def demo_phone_of(*, user_id: int | None = None, authorization_hash: int | None = None) -> str:
    """The phone number of the demo account with this user id, or holding this authorization ("" if none)."""
    from sessions_app.telegram.fake.accounts import account_by_id

    if user_id is None and authorization_hash is not None:
        with _demo_world("A demo account").store.tx() as db:
            row = db.execute("SELECT user_id FROM auth_keys WHERE auth_hash = ?", (authorization_hash,)).fetchone()
        user_id = None if row is None or row["user_id"] is None else int(row["user_id"])
    account = account_by_id(user_id) if user_id is not None else None
    return account.phone if account is not None else ""


def demo_move_key(phone: str, authorization_hash: int, *, ip: str, country: str) -> None:
    """The machine holding that authorization of the demo account moved to ``ip`` in ``country``."""
    with _knob("Moving a machine") as world:
        world.move_key(phone.lstrip("+"), authorization_hash, ip=ip, country=country)
