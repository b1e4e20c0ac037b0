"""Every Telegram client comes from here: the factory, the credentials, the labels, one operation.

A *factory* (setting TELEGRAM_CLIENT_FACTORY, a dotted path) is a callable
``factory(session: str, *, api_id: int, api_hash: str, **client_kwargs) -> telethon.TelegramClient``
returning an unconnected client; ``client_kwargs`` are TelegramClient keyword arguments
(device_model, system_version, app_version, ...) that the factory passes through, ``proxy`` (and
``connection`` for MTProxy) among them when the instance has a proxy or TELEGRAM_PROXY is set. Operations take
the session string in and hand the (possibly new) session string back; nothing here keeps a client
between calls, so any process can serve any step.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from telethon import TelegramClient
from telethon.sessions import StringSession

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.bridge import run_sync
from sessions_app.telegram.proxy import Proxy, parse_proxy

T = TypeVar("T")
ClientFactory = Callable[..., TelegramClient]
APP_VERSION = "teleconnect 1.1"


@dataclass(frozen=True)
class ApiCredentials:
    api_id: int
    api_hash: str


class KeyRole(StrEnum):
    """Whose authorization a client acts as; Telegram shows it in the account's active sessions."""

    CONNECTOR = "connector"  # the key in the store object, which a connector service holds
    DASHBOARD = "dashboard"  # the dashboard's own key, minted from the connector's, kept in the DB


@lru_cache(maxsize=4)
def _parsed_default(url: str) -> Proxy | None:
    return parse_proxy(url)


def proxy_or_default(proxy: Proxy | None) -> Proxy | None:
    """The proxy a connection goes through: the instance's own, else TELEGRAM_PROXY; None is direct."""
    if proxy is not None:
        return proxy
    return _parsed_default(settings.TELEGRAM_PROXY)


@dataclass(frozen=True)
class ClientLabel:
    """What a client tells Telegram it is (initConnection): its role and the SESSION it serves;
    and how it reaches Telegram: the instance's own proxy (None: TELEGRAM_PROXY, else direct)."""

    role: KeyRole
    session: str = ""
    proxy: Proxy | None = None

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "device_model": f"teleconnect {self.role}",
            "system_version": "teleconnect",
            "app_version": f"{APP_VERSION} {self.session}".strip(),
            **_proxy_kwargs(self.proxy),
        }


def _proxy_kwargs(proxy: Proxy | None) -> dict[str, Any]:
    chosen = proxy_or_default(proxy)
    return chosen.client_kwargs() if chosen is not None else {}


def real_client_factory(session: str, *, api_id: int, api_hash: str, **client_kwargs: Any) -> TelegramClient:
    """The default outside demo mode: a real client on Telegram's production DCs."""
    options: dict[str, Any] = {
        "connection_retries": 1,
        "retry_delay": 1,
        "timeout": settings.TELEGRAM_TIMEOUT_SECONDS,
        "request_retries": 2,
        "device_model": "teleconnect",
        "app_version": APP_VERSION,
        "receive_updates": False,
    }
    options.update(client_kwargs)
    return TelegramClient(StringSession(session), api_id, api_hash, **options)


@lru_cache(maxsize=8)
def _load_factory(path: str) -> ClientFactory:
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"TELEGRAM_CLIENT_FACTORY={path!r} cannot be imported: {exc}") from None
    if not callable(factory):
        raise ImproperlyConfigured(f"TELEGRAM_CLIENT_FACTORY={path!r} is not callable")
    return factory  # type: ignore[no-any-return]


def client_factory() -> ClientFactory:
    return _load_factory(settings.TELEGRAM_CLIENT_FACTORY)


# Demo mode has no real credentials, but TelegramClient refuses an empty pair: any factory (ours
# or another fake) gets this placeholder, which no real Telegram server accepts.
DEMO_CREDENTIALS = ApiCredentials(api_id=1, api_hash="0" * 32)


def default_credentials() -> ApiCredentials:
    if settings.TELEGRAM_DEMO:
        return DEMO_CREDENTIALS
    return ApiCredentials(api_id=settings.TELEGRAM_API_ID, api_hash=settings.TELEGRAM_API_HASH)


def build_client(session: str, api: ApiCredentials, label: ClientLabel | None = None) -> TelegramClient:
    """A new, unconnected client from the configured factory; a malformed string is the user's error."""
    if session:
        check_session_string(session)
    kwargs = label.client_kwargs() if label is not None else _proxy_kwargs(None)
    client = client_factory()(session, api_id=api.api_id, api_hash=api.api_hash, **kwargs)
    # Flood waits come back to us: the page shows the seconds left instead of a request that hangs.
    client.flood_sleep_threshold = 0
    return client


def check_session_string(session: str) -> None:
    """Parse a session string offline; raise SessionMalformed when it is not one."""
    if not session or not session.startswith("1"):
        raise app_errors.SessionMalformed()
    try:
        parsed = StringSession(session)
    except (ValueError, struct.error, binascii.Error, UnicodeError):
        raise app_errors.SessionMalformed() from None
    if parsed.auth_key is None or not parsed.server_address:
        raise app_errors.SessionMalformed()


def auth_key_of(session: str) -> bytes:
    """The 256-byte auth key inside a session string (for fingerprints; never shown or logged)."""
    check_session_string(session)
    key = StringSession(session).auth_key
    assert key is not None  # checked above
    return bytes(key.key)


def run(
    session: str,
    api: ApiCredentials,
    operation: Callable[[TelegramClient], Awaitable[T]],
    label: ClientLabel | None = None,
) -> tuple[T, str]:
    """Connect a fresh client, run one operation, disconnect; return (result, session string after).

    Telethon errors come out as sessions_app.telegram.errors exceptions.
    """

    async def main() -> tuple[T, str]:
        client = build_client(session, api, label)
        try:
            await client.connect()
            result = await operation(client)
            after = client.session.save() if client.session is not None else ""
            return result, after
        finally:
            await client.disconnect()

    try:
        return run_sync(main)
    except app_errors.TelegramError:
        raise
    except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated below
        raise app_errors.translate(exc) from exc
