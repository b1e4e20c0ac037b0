"""What tests and demos can do to the demo Telegram from outside: the people's side of the world.

Reading a login code off the phone, scanning a QR code, allowing a data export, ending a session
on another device, keeping a key connected from elsewhere, forcing flood waits, and ground truth
for assertions; what happens to a whole account comes from :class:`SecurityKnobs`. :class:`Knobs` is a base of :class:`DemoTelegram`; it only needs ``store`` and ``clock``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from telethon.sessions import StringSession

from sessions_app.telegram.fake import connections, devices, files, history, keys, login, security, tokens
from sessions_app.telegram.fake.accounts import DemoAccount, account_by_phone, normalize_phone
from sessions_app.telegram.fake.rpc import Rpc
from sessions_app.telegram.fake.security_knobs import SecurityKnobs
from sessions_app.telegram.fake.store import Store


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
    ip: str  # of the session's latest request
    country: str
    current: bool  # the session that sent this account's latest request ("this device" in the app)
    unconfirmed: bool = False  # logged in by login token and not yet confirmed from another session


_REFUSED_SCANS = {
    "AUTH_TOKEN_EXPIRED": "this QR code has expired",
    "AUTH_TOKEN_ALREADY_ACCEPTED": "this QR code was scanned already",
    "AUTH_TOKEN_INVALIDX": "this QR code is not one the demo Telegram issued",
}


def _demo_account(phone: str) -> DemoAccount:
    account = account_by_phone(phone)
    if account is None:
        raise ValueError(f"{phone} is not a demo account")
    return account


def _key_id(session_string: str) -> int:
    auth_key = StringSession(session_string).auth_key
    if auth_key is None:
        raise LookupError("this session string has no auth key")
    return keys.signed(auth_key.key_id)


class Knobs(SecurityKnobs):
    """The test and demo knobs of a DemoTelegram world."""

    store: Store
    clock: Callable[[], float]

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

    def expire_file_references(self) -> None:
        """Every file reference handed out so far answers FILE_REFERENCE_EXPIRED; messages read afterwards carry fresh ones."""
        with self.store.tx() as db:
            epoch = files.reference_epoch(db) + 1
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('file_reference_epoch', ?)", (str(epoch),))

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
        """Scan a QR login token with the app of ``phone``'s account (another, logged-in device).

        The same server path as auth.acceptLoginToken; a token it refuses raises ValueError.
        """
        account = _demo_account(phone)
        with self.store.tx() as db:
            try:
                tokens.accept(db, token=bytes(token), user_id=account.user_id, now=self.clock())
            except Rpc as refused:
                why = _REFUSED_SCANS.get(refused.message, "it cannot be accepted")
                raise ValueError(f"{why} ({refused.message})") from None

    def approve_takeout(self, phone: str) -> None:
        """Allow data export for ``phone``'s account (what the user confirms in the Telegram app)."""
        account = _demo_account(phone)
        with self.store.tx() as db:
            db.execute("UPDATE accounts SET takeout_approved = 1 WHERE user_id = ?", (account.user_id,))

    def terminate(self, target: int | str) -> None:
        """End a session from "another device": ``target`` is an auth key id, an authorization hash
        or a session string. Its requests then answer AUTH_KEY_UNREGISTERED (401)."""
        if isinstance(target, str):
            target = _key_id(target)
        key_id = keys.signed(target) if 0 <= target < 2**64 else target
        auth_hash = target if -(2**63) <= target < 2**63 else None
        with self.store.tx() as db:
            row = db.execute(
                "SELECT key_id FROM auth_keys WHERE (key_id = ? AND user_id IS NOT NULL) OR auth_hash = ?",
                (key_id, auth_hash),
            ).fetchone()
            if row is None:
                raise LookupError(f"no active session with auth key id or hash {target}")
            keys.unregister(db, row["key_id"])

    def terminate_all_from_phone(self, phone: str) -> int:
        """The owner taps "Terminate all other sessions" on their phone (the account's oldest official
        session): every other session of ``phone``'s account ends and answers SESSION_REVOKED (401)
        from now on, as Telegram's do. Returns how many ended."""
        account = _demo_account(phone)
        with self.store.tx() as db:
            rows = db.execute(
                "SELECT key_id, official FROM auth_keys WHERE user_id = ? OR pending_user_id = ?"
                " ORDER BY official DESC, date_created",
                (account.user_id, account.user_id),
            ).fetchall()
            phone_key = rows[0]["key_id"] if rows and rows[0]["official"] else None
            ended = [row["key_id"] for row in rows if row["key_id"] != phone_key]
            for key_id in ended:
                keys.unregister(db, key_id, answer="SESSION_REVOKED")
        return len(ended)

    def stumble_next_minted_keys(self, count: int = 1) -> None:
        """The next ``count`` keys logged in by login token answer AUTH_KEY_UNREGISTERED once, on their
        first request after the login (a key not yet known to every DC, as Telegram's can be for a second)."""
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (keys.STUMBLES_META, str(int(count))))

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
            countries = {r["ip"]: security.country_of(db, r["ip"]) for r in rows}
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
                country=countries[r["ip"]],
                current=bool(r["last_call"]) and r["last_call"] == latest,
                unconfirmed=bool(r["unconfirmed"]),
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
            row = db.execute("SELECT * FROM auth_keys WHERE key_id = ?", (keys.signed(auth_key.key_id),)).fetchone()
        return (
            row is not None
            and row["dc"] == string_session.dc_id
            and row["key_digest"] == keys.digest(auth_key.key)
            and row["user_id"] is not None
        )

    @contextmanager
    def hold(self, session_string: str, ip: str) -> Iterator[None]:
        """Keep the session's key connected from ``ip`` for the block, as a running connector does.

        No client and no traffic: a live connection that does not lapse before the block ends.
        Meanwhile a request on that key from another IP destroys the key (AUTH_KEY_DUPLICATED).
        """
        key_id = _key_id(session_string)
        with self.store.tx() as db:
            connection_id = connections.open_connection(db, key_id=key_id, ip=ip, now=self.clock(), lease=math.inf)
        try:
            yield
        finally:
            with self.store.tx() as db:
                connections.close(db, connection_id)

    def connected_ips(self, session_string: str) -> list[str]:
        """The IPs the session's key is connected from right now (live connections), sorted."""
        key_id = _key_id(session_string)
        with self.store.tx() as db:
            return connections.live_ips(db, key_id, self.clock())

    def seed_messages(self, phone: str, *, per_dialog: int, dialogs: int | None = None) -> None:
        """Append ``per_dialog`` messages to each of the first ``dialogs`` dialogs of ``phone``'s account.

        ``dialogs`` larger than the account has creates more dialogs first; ``None`` means all.
        Bulk inserts: 100k messages take a few seconds at most.
        """
        account = _demo_account(phone)
        with self.store.tx() as db:
            history.seed_messages(db, account, per_dialog=per_dialog, dialogs=dialogs)

    def history_of(self, phone: str) -> dict[int, list[tuple[int, str]]]:
        """Ground truth for tests and benchmarks: {marked peer id: [(message id, text), ...] ascending}."""
        account = _demo_account(phone)
        found: dict[int, list[tuple[int, str]]] = {}
        with self.store.tx() as db:
            for row in db.execute(
                "SELECT peer, id, text FROM messages WHERE owner = ? ORDER BY peer, id", (account.user_id,)
            ):
                found.setdefault(int(row["peer"]), []).append((int(row["id"]), row["text"]))
        return found

    def last_email_code(self, email: str) -> str:
        """The code most recently emailed to ``email`` to confirm it as a login email (what the owner
        reads in that mailbox). The login code Telegram emails afterwards comes from last_code(phone)."""
        with self.store.tx() as db:
            row = db.execute(
                "SELECT code FROM email_codes WHERE email = ? ORDER BY sent DESC LIMIT 1", (email.strip(),)
            ).fetchone()
        if row is None:
            raise LookupError(f"no email code was sent to {email}")
        return str(row["code"])

    def login_email(self, phone: str) -> str:
        """Ground truth: the login email of ``phone``'s account ("" when it has none set up)."""
        account = _demo_account(phone)
        with self.store.tx() as db:
            row = db.execute("SELECT login_email FROM accounts WHERE user_id = ?", (account.user_id,)).fetchone()
        return account.email or str(row["login_email"] or "")

    def drop_connections(self, session_string: str, *, after_requests: int = 1, down_seconds: float = 0.0) -> None:
        """The network of the session's key breaks: its ``after_requests``-th request from now fails as a
        dropped connection (Telethon: ConnectionError) and the connection is gone; opening a connection
        of that key, or a request on another of its connections, fails the same way until the clock
        passes ``down_seconds`` after the drop."""
        key_id = _key_id(session_string)
        with self.store.tx() as db:
            connections.schedule_drop(db, key_id=key_id, after_requests=after_requests, down_seconds=down_seconds)

    def takeout_inits(self, phone: str) -> int:
        """How many takeouts ``phone``'s account asked for (account.initTakeoutSession), approved or not:
        Telegram notifies the owner's devices about each one."""
        account = _demo_account(phone)
        with self.store.tx() as db:
            return devices.takeout_inits(db, account.user_id)

    def takeout_requests(self, phone: str) -> dict[str, int]:
        """Requests ``phone``'s account sent inside a takeout (InvokeWithTakeout), by method name."""
        account = _demo_account(phone)
        with self.store.tx() as db:
            return devices.takeout_requests(db, account.user_id)
