"""DemoTelegram: the state of the demo Telegram (its DCs, accounts, keys, codes, chats) and its test knobs."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import functions

from sessions_app.telegram.fake import devices, history, limits, login, srp
from sessions_app.telegram.fake.accounts import (
    DEFAULT_DC,
    DEMO_ACCOUNTS,
    DEMO_IP,
    SEEDED_DEVICES,
    account_by_phone,
    normalize_phone,
)
from sessions_app.telegram.fake.rpc import HANDLERS, Call, Rpc, UnknownAuthKey, method_name
from sessions_app.telegram.fake.sender import FakeSender
from sessions_app.telegram.fake.store import Store

_VERIFIERS: dict[str, srp.Verifier] = {}  # one PBKDF2 per password per process, not per world
_VERIFIERS_LOCK = threading.Lock()


def _signed(key_id: int) -> int:
    return key_id - 2**64 if key_id >= 2**63 else key_id


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def _verifier(password: str) -> srp.Verifier:
    with _VERIFIERS_LOCK:
        if password not in _VERIFIERS:
            _VERIFIERS[password] = srp.make_verifier(password)
        return _VERIFIERS[password]


@dataclass(frozen=True)
class DemoAuthorization:
    """One active session of an account, as the server stores it (real hash, even for the current one)."""

    hash: int
    auth_key_id: int  # signed, as Telegram stores 64-bit ids
    device_model: str
    platform: str
    system_version: str
    api_id: int
    app_name: str
    app_version: str
    date_created: float
    date_active: float
    ip: str
    country: str
    current: bool  # the session that sent this account's latest request ("this device" in the app)


class DemoTelegram:
    """The demo Telegram world.

    ``DemoTelegram(path)`` keeps state in a SQLite file shared by all processes that open it;
    ``DemoTelegram(None)`` is private in-memory state for one test. ``clock`` (seconds since the
    epoch) drives every expiry: code TTL, QR tokens, flood waits, the 24-hour rule, takeout delay.
    Clients come from :meth:`client_factory`; everything else here is a knob for tests and demos.
    """

    _worlds: ClassVar[dict[str, DemoTelegram]] = {}
    _worlds_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.store = Store(path)
        self._seed()

    @classmethod
    def from_settings(cls) -> DemoTelegram:
        """The world at ``settings.TELEGRAM_DEMO_STATE``, one per path per process."""
        from django.conf import settings

        path = str(settings.TELEGRAM_DEMO_STATE or "")
        with cls._worlds_lock:
            if path not in cls._worlds:
                if path in ("", ":memory:"):  # one private world for this process
                    cls._worlds[path] = cls(None)
                else:
                    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                    cls._worlds[path] = cls(path)
            return cls._worlds[path]

    # -- clients ------------------------------------------------------------------------------

    def client_factory(self, session: str, *, api_id: int, api_hash: str) -> TelegramClient:
        """An unconnected TelegramClient whose MTProto sender talks to this world."""
        string_session = StringSession(session)  # a malformed string raises here, as on a real client
        if not string_session.server_address:
            string_session.set_dc(DEFAULT_DC, DEMO_IP, 4430 + DEFAULT_DC)
        client = TelegramClient(
            string_session,
            api_id or 1,
            api_hash or "0" * 32,
            receive_updates=False,
            connection_retries=1,
            retry_delay=0,
            device_model="teleconnect",
            app_version="teleconnect 1.0",
        )
        client._sender = FakeSender(
            self,
            client.session.auth_key,
            loggers=client._log,
            auth_key_callback=client._auth_key_callback,
            updates_queue=client._updates_queue,
            auto_reconnect_callback=client._handle_auto_reconnect,
        )
        return client

    # -- knobs ----------------------------------------------------------------------------------

    @property
    def code_ttl(self) -> int:
        """Seconds a login code stays valid (Telegram: a few minutes). Settable."""
        with self.store.tx() as db:
            return login.code_ttl(db)

    @code_ttl.setter
    def code_ttl(self, seconds: int) -> None:
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('code_ttl', ?)", (str(int(seconds)),))

    def flood(self, method: str, seconds: int, phone: str | None = None) -> None:
        """Make requests of ``method`` (TL name, e.g. "auth.sendCode") answer FLOOD_WAIT_<seconds left>.

        Limited to one phone number (the request's phone_number, or the signed-in account's) when
        given; lasts until the clock passes now + seconds.
        """
        with self.store.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO floods (method, phone, until) VALUES (?, ?, ?)",
                (method, normalize_phone(phone) if phone else "", self.clock() + seconds),
            )

    def set_rate_limit(self, method: str, count: int | None, window_seconds: float = 1.0) -> None:
        """Allow ``count`` requests of ``method`` per sliding window per account (per key before sign-in).

        Beyond that the request answers FLOOD_WAIT_<seconds until the window frees>. ``count=None``
        removes the limit.
        """
        with self.store.tx() as db:
            db.execute("DELETE FROM rate_limits WHERE method = ?", (method,))
            db.execute("DELETE FROM rate_hits WHERE method = ?", (method,))
            if count is not None:
                db.execute(
                    "INSERT INTO rate_limits (method, count, window) VALUES (?, ?, ?)", (method, count, window_seconds)
                )

    def last_code(self, phone: str) -> str:
        """The login code most recently sent to ``phone`` (what the user would read in the app)."""
        with self.store.tx() as db:
            row = db.execute(
                "SELECT code FROM codes WHERE phone = ? ORDER BY sent DESC LIMIT 1", (normalize_phone(phone),)
            ).fetchone()
        if row is None:
            raise LookupError(f"no login code was sent to {phone}")
        return str(row["code"])

    def approve_qr(self, token: bytes, phone: str) -> None:
        """Scan a QR login token with the app of ``phone``'s account (another, logged-in device)."""
        account = account_by_phone(phone)
        if account is None:
            raise ValueError(f"{phone} is not a demo account")
        with self.store.tx() as db:
            row = db.execute("SELECT expires FROM login_tokens WHERE token = ?", (bytes(token),)).fetchone()
            if row is None or row["expires"] <= self.clock():
                raise ValueError("this QR login token is unknown or expired")
            db.execute("UPDATE login_tokens SET user_id = ? WHERE token = ?", (account.user_id, bytes(token)))

    def approve_takeout(self, phone: str) -> None:
        """Allow data export for ``phone``'s account (what the user confirms in the Telegram app)."""
        account = account_by_phone(phone)
        if account is None:
            raise ValueError(f"{phone} is not a demo account")
        with self.store.tx() as db:
            db.execute("UPDATE accounts SET takeout_approved = 1 WHERE user_id = ?", (account.user_id,))

    def terminate(self, target: int | str) -> None:
        """End a session from "another device": ``target`` is an auth key id, an authorization hash
        or a session string. Its requests then answer AUTH_KEY_UNREGISTERED (401)."""
        if isinstance(target, str):
            auth_key = StringSession(target).auth_key
            if auth_key is None:
                raise LookupError("this session string has no auth key")
            target = auth_key.key_id
        key_id = _signed(target) if 0 <= target < 2**64 else target
        auth_hash = target if -(2**63) <= target < 2**63 else None
        with self.store.tx() as db:
            row = db.execute(
                "SELECT key_id FROM auth_keys WHERE (key_id = ? AND user_id IS NOT NULL) OR auth_hash = ?",
                (key_id, auth_hash),
            ).fetchone()
            if row is None:
                raise LookupError(f"no active session with auth key id or hash {target}")
            devices.unregister(db, row["key_id"])

    def age_authorizations(self, user_id: int, seconds: float) -> None:
        """Pretend every session of ``user_id`` was created ``seconds`` earlier (for the 24-hour rule)."""
        with self.store.tx() as db:
            db.execute("UPDATE auth_keys SET date_created = date_created - ? WHERE user_id = ?", (seconds, user_id))

    def terminate_session(self, session_string: str) -> bool:
        """End the session a session string belongs to; False when it was not signed in anyway."""
        try:
            self.terminate(session_string)
        except LookupError:
            return False
        return True

    def authorizations(self, user_id: int) -> list[DemoAuthorization]:
        """Every active session of ``user_id``, oldest first, with the hash Telegram keeps for each.

        ``current`` marks the session that sent the account's latest request (the API itself reports
        that one with hash 0 and current=True).
        """
        with self.store.tx() as db:
            rows = db.execute("SELECT * FROM auth_keys WHERE user_id = ? ORDER BY date_created", (user_id,)).fetchall()
        latest = max((r["last_call"] for r in rows), default=0)
        return [
            DemoAuthorization(
                hash=int(r["auth_hash"]),
                auth_key_id=int(r["key_id"]),
                device_model=r["device_model"],
                platform=r["platform"],
                system_version=r["system_version"],
                api_id=int(r["api_id"]),
                app_name=r["app_name"],
                app_version=r["app_version"],
                date_created=float(r["date_created"]),
                date_active=float(r["date_active"]),
                ip=r["ip"],
                country="Demoland",
                current=bool(r["last_call"]) and r["last_call"] == latest,
            )
            for r in rows
        ]

    def is_authorized(self, session_string: str) -> bool:
        """Whether the session string's key is signed in to an account on its own DC."""
        string_session = StringSession(session_string)
        auth_key = string_session.auth_key
        if auth_key is None or auth_key.key is None:
            return False
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM auth_keys WHERE key_id = ?", (_signed(auth_key.key_id),)).fetchone()
        return (
            row is not None
            and row["dc"] == string_session.dc_id
            and row["key_digest"] == _digest(auth_key.key)
            and row["user_id"] is not None
        )

    def seed_messages(self, phone: str, *, per_dialog: int, dialogs: int | None = None) -> None:
        """Append ``per_dialog`` messages to each of the first ``dialogs`` dialogs of ``phone``'s account.

        ``dialogs`` larger than the account has creates more dialogs first; ``None`` means all.
        Bulk inserts: 100k messages take a few seconds at most.
        """
        account = account_by_phone(phone)
        if account is None:
            raise ValueError(f"{phone} is not a demo account")
        with self.store.tx() as db:
            history.seed_messages(db, account, per_dialog=per_dialog, dialogs=dialogs)

    def history_of(self, phone: str) -> dict[int, list[tuple[int, str]]]:
        """Ground truth for tests and benchmarks: {marked peer id: [(message id, text), ...] ascending}."""
        account = account_by_phone(phone)
        if account is None:
            raise ValueError(f"{phone} is not a demo account")
        found: dict[int, list[tuple[int, str]]] = {}
        with self.store.tx() as db:
            for row in db.execute(
                "SELECT peer, id, text FROM messages WHERE owner = ? ORDER BY peer, id", (account.user_id,)
            ):
                found.setdefault(int(row["peer"]), []).append((int(row["id"]), row["text"]))
        return found

    # -- the DC side ---------------------------------------------------------------------------

    def _issue_auth_key(self, dc: int) -> bytes:
        """A new auth key on ``dc``: what a DH exchange with that DC would leave on both sides."""
        key = os.urandom(256)
        key_id = _signed(AuthKey(key).key_id)
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO auth_keys (key_id, key_digest, dc, created, ip) VALUES (?, ?, ?, ?, ?)",
                (key_id, _digest(key), dc, self.clock(), f"127.0.0.{2 + key_id % 200}"),
            )
        return key

    def _invoke(self, dc: int, auth_key: AuthKey, request: Any) -> Any:
        """Answer one request sent with ``auth_key`` to ``dc``; raises Rpc for error answers."""
        with self.store.tx() as db:
            key = db.execute("SELECT * FROM auth_keys WHERE key_id = ?", (_signed(auth_key.key_id),)).fetchone()
            if key is None or key["dc"] != dc or key["key_digest"] != _digest(auth_key.key):
                raise UnknownAuthKey()
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
                devices.check_takeout(call, request.takeout_id)
                request = request.query
            else:
                break
        handler = HANDLERS.get(type(request))
        if handler is None:
            raise Rpc(400, "METHOD_NOT_SUPPORTED_BY_DEMO")
        limits.check(call, method_name(request), request)
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

    def _seed(self) -> None:
        """Accounts, their passwords, their other devices and their chats; once per state file."""
        with self.store.tx() as db:
            if db.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone():
                return
            now = self.clock()
            for account in DEMO_ACCOUNTS:
                verifier = _verifier(account.password) if account.password is not None else None
                db.execute(
                    "INSERT INTO accounts (user_id, phone, dc, salt1, salt2, verifier) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        account.user_id,
                        account.phone,
                        account.dc,
                        verifier and verifier.salt1,
                        verifier and verifier.salt2,
                        verifier and verifier.v,
                    ),
                )
                for device in SEEDED_DEVICES:
                    auth_hash = login.new_auth_hash()
                    auth_hash = -abs(auth_hash) if device.negative_hash else abs(auth_hash)
                    key = os.urandom(256)
                    db.execute(
                        "INSERT INTO auth_keys (key_id, key_digest, dc, created, user_id, auth_hash, date_created,"
                        " date_active, ip, device_model, platform, system_version, api_id, app_name, app_version,"
                        " official) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                        (
                            _signed(AuthKey(key).key_id),
                            _digest(key),
                            account.dc,
                            now - device.age_seconds,
                            account.user_id,
                            auth_hash,
                            now - device.age_seconds,
                            now - device.idle_seconds,
                            device.ip,
                            device.device_model,
                            device.platform,
                            device.system_version,
                            device.api_id,
                            device.app_name,
                            device.app_version,
                        ),
                    )
                history.seed_account(db, account)
            db.execute("INSERT INTO meta (key, value) VALUES ('seeded', ?)", (str(secrets.randbits(32)),))


__all__ = ["DemoAuthorization", "DemoTelegram"]
