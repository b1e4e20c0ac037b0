"""DemoTelegram: the demo Telegram world, its DCs answering requests, and its clients.

The state (accounts, keys, codes, connections, chats) lives in a :class:`Store`; the test knobs
come from :class:`Knobs`. Each request a :class:`FakeSender` hands over arrives on a connection
(the two-IP rule, in its own short transaction) and is then answered in one transaction.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import functions

from sessions_app.telegram.fake import connections, devices, keys, limits, security
from sessions_app.telegram.fake.accounts import DEFAULT_DC, DEMO_IP
from sessions_app.telegram.fake.knobs import DemoAuthorization, Knobs
from sessions_app.telegram.fake.rpc import HANDLERS, Call, Rpc, UnknownAuthKey, method_name, unauthorized
from sessions_app.telegram.fake.seed import seed
from sessions_app.telegram.fake.sender import FakeSender
from sessions_app.telegram.fake.store import Store

# What the demo's clients are unless the factory's caller says otherwise (TelegramClient keywords).
CLIENT_DEFAULTS: dict[str, Any] = {
    "receive_updates": False,
    "connection_retries": 1,
    "retry_delay": 0,
    "device_model": "teleconnect",
    "app_version": "teleconnect 1.0",
}


class DemoTelegram(Knobs):
    """The demo Telegram world.

    ``DemoTelegram(path)`` keeps state in a SQLite file shared by all processes that open it;
    ``DemoTelegram(None)`` is private in-memory state for one test. ``clock`` (seconds since the
    epoch) drives every expiry: code TTL, login tokens, flood waits, the 24-hour rule, takeout
    delay, connection leases. ``answer_delay`` (seconds, settable) holds back every answer as a
    slow network would. Clients come from :meth:`client_factory`; the rest are knobs.
    """

    _worlds: ClassVar[dict[str, DemoTelegram]] = {}
    _worlds_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self, path: str | None = None, *, clock: Callable[[], float] = time.time, answer_delay: float = 0.0
    ) -> None:
        self.path = path
        self.clock = clock
        self.answer_delay = answer_delay
        self.store = Store(path)
        with self.store.tx() as db:
            seed(db, self.clock())

    @classmethod
    def from_settings(cls) -> DemoTelegram:
        """The world at ``settings.TELEGRAM_DEMO_STATE``, one per path per process.

        Its ``answer_delay`` follows ``settings.TELEGRAM_DEMO_DELAY_SECONDS``.
        """
        from django.conf import settings

        path = str(settings.TELEGRAM_DEMO_STATE or "")
        with cls._worlds_lock:
            if path not in cls._worlds:
                if path in ("", ":memory:"):  # one private world for this process
                    cls._worlds[path] = cls(None)
                else:
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                    cls._worlds[path] = cls(path)
            world = cls._worlds[path]
        world.answer_delay = float(settings.TELEGRAM_DEMO_DELAY_SECONDS)
        return world

    # -- clients ------------------------------------------------------------------------------

    def client_factory(
        self, session: str, *, api_id: int, api_hash: str, ip: str | None = None, **client_kwargs: Any
    ) -> TelegramClient:
        """An unconnected TelegramClient whose MTProto sender talks to this world.

        ``client_kwargs`` go to TelegramClient over :data:`CLIENT_DEFAULTS` (device_model,
        system_version, app_version, lang_code, ...); the device labels reach "Active sessions"
        through initConnection. ``ip`` is where the client's connections come from: a label
        only, for the rule against one key used from two IPs at once. Without it, a client with
        a ``proxy`` (SOCKS/HTTP dict or MTProxy tuple) comes from the proxy's host, as Telegram
        would see it, else from DEMO_IP. The proxy itself is kept from the client: nothing here
        opens a connection, to the proxy or anywhere else.
        """
        proxy = client_kwargs.pop("proxy", None)
        client_kwargs.pop("connection", None)  # MTProxy's transport class, which would dial the proxy
        if ip is None:
            ip = str(proxy["addr"] if isinstance(proxy, dict) else proxy[0]) if proxy else DEMO_IP
        string_session = StringSession(session)  # a malformed string raises here, as on a real client
        if not string_session.server_address:
            string_session.set_dc(DEFAULT_DC, DEMO_IP, 4430 + DEFAULT_DC)
        client = TelegramClient(
            string_session, api_id or 1, api_hash or "0" * 32, **{**CLIENT_DEFAULTS, **client_kwargs}
        )
        client._sender = FakeSender(
            self,
            client.session.auth_key,
            ip=ip,
            loggers=client._log,
            auth_key_callback=client._auth_key_callback,
            updates_queue=client._updates_queue,
            auto_reconnect_callback=client._handle_auto_reconnect,
        )
        return client

    # -- connections (called by FakeSender) ---------------------------------------------------

    def _issue_auth_key(self, dc: int, ip: str = DEMO_IP) -> bytes:
        """A new auth key on ``dc``: what a DH exchange with that DC would leave on both sides."""
        with self.store.tx() as db:
            return keys.issue(db, dc=dc, now=self.clock(), ip=ip)

    def _connect(self, auth_key: AuthKey, ip: str) -> str:
        """A connection of ``auth_key`` from ``ip`` opens; returns its id."""
        with self.store.tx() as db:
            key_id, now = keys.signed(auth_key.key_id), self.clock()
            if connections.is_down(db, key_id, now):
                raise connections.NetworkDrop("the demo network is down for this key (drop_connections)")
            return connections.open_connection(db, key_id=key_id, ip=ip, now=now)

    def _heartbeat(self, connection_id: str) -> None:
        with self.store.tx() as db:
            connections.renew(db, connection_id, self.clock())

    def _disconnect(self, connection_id: str) -> None:
        with self.store.tx() as db:
            connections.close(db, connection_id)

    def _receive(self, dc: int, auth_key: AuthKey, request: Any, *, ip: str, connection_id: str) -> Any:
        """A request arrives on a connection: the two-IP rule first, then the DC answers it."""
        # Two transactions, so that _invoke keeps the signature subclasses wrap (bench counts requests there).
        with self.store.tx() as db:
            dropped = connections.request_drops(db, keys.signed(auth_key.key_id), self.clock())
        if dropped:  # committed first: the outage starts even though this request fails
            raise connections.NetworkDrop("the connection to the demo DC broke (drop_connections)")
        with self.store.tx() as db:
            connections.arrive(
                db, key_id=keys.signed(auth_key.key_id), connection_id=connection_id, ip=ip, now=self.clock()
            )
        return self._invoke(dc, auth_key, request)

    # -- the DC side ---------------------------------------------------------------------------

    def _invoke(self, dc: int, auth_key: AuthKey, request: Any) -> Any:
        """Answer one request sent with ``auth_key`` to ``dc``; raises Rpc for error answers."""
        with self.store.tx() as db:
            key = db.execute("SELECT * FROM auth_keys WHERE key_id = ?", (keys.signed(auth_key.key_id),)).fetchone()
            if key is None or key["dc"] != dc or key["key_digest"] != keys.digest(auth_key.key):
                raise UnknownAuthKey()
            if key["destroyed"]:
                raise unauthorized()
            call = Call(db=db, now=self.clock(), dc=dc, key=key)
            return self._dispatch(call, request)

    def _dispatch(self, call: Call, request: Any) -> Any:
        while True:  # wrappers first: they carry the connection's description and the takeout id
            if isinstance(request, (functions.InvokeWithLayerRequest, functions.InvokeWithoutUpdatesRequest)):
                request = request.query
            elif isinstance(request, functions.InitConnectionRequest):
                self._record_client(call, request)
                request = request.query
            elif isinstance(request, functions.InvokeWithTakeoutRequest):
                devices.check_takeout(call, request.takeout_id, request.query)
                request = request.query
            else:
                break
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise Rpc(400, "METHOD_NOT_SUPPORTED_BY_DEMO")
        name = method_name(request)
        security.check(call, name)  # a banned, deleted or frozen account refuses before anything else
        if call.key["stumbles"] and call.user_id is not None and not name.startswith("auth."):
            # A key just logged in by login token, not yet known to every DC: one refusal, then fine.
            call.db.execute("UPDATE auth_keys SET stumbles = stumbles - 1 WHERE key_id = ?", (call.key_id,))
            raise unauthorized()
        limits.check(call, name, request)
        if call.user_id is not None:
            # last_call orders a user's sessions by who spoke last: authorizations() marks that one current.
            call.db.execute(
                "UPDATE auth_keys SET date_active = MAX(COALESCE(date_active, 0), ?),"
                " last_call = (SELECT MAX(last_call) + 1 FROM auth_keys) WHERE key_id = ?",
                (call.now, call.key_id),
            )
        return handler(call, request)

    def _record_client(self, call: Call, init: functions.InitConnectionRequest) -> None:
        """What a session's row in "Active sessions" shows comes from the client's initConnection."""
        system = init.system_version or ""
        platform = next(
            (
                name
                for marker, name in (("Android", "android"), ("iOS", "ios"), ("Windows", "windows"), ("mac", "macos"))
                if marker.lower() in system.lower()
            ),
            "desktop",
        )
        call.db.execute(
            "UPDATE auth_keys SET device_model = ?, system_version = ?, app_version = ?, api_id = ?, platform = ?,"
            " app_name = ? WHERE key_id = ?",
            (
                init.device_model,
                system,
                init.app_version,
                init.api_id,
                platform,
                (init.app_version or "").split(" ")[0] or f"api {init.api_id}",
                call.key_id,
            ),
        )


__all__ = ["CLIENT_DEFAULTS", "DemoAuthorization", "DemoTelegram"]
