"""Session files and strings of other clients, turned into Telethon StringSessions offline (bulk import).

Nothing here connects to Telegram: a converted string is checked by the import like any other.

- Telethon StringSession: kept as it is.
- Pyrogram / Kurigram session strings: urlsafe base64 (padding stripped) of the struct
  ``>BI?256sQ?`` (dc_id, api_id, test_mode, auth_key, user_id, is_bot) since Pyrogram 2.0, or of
  the older ``>B?256sI?`` (351 characters) and ``>B?256sQ?`` (356 characters), as Pyrogram's
  storage/storage.py packs them.
- Telethon ``.session`` files: SQLite with a ``sessions`` table (dc_id, server_address, port,
  auth_key); Pyrogram ``.session`` files: SQLite with ``sessions`` (dc_id, test_mode, auth_key,
  ...). Read in memory (never written to disk), query-only, with the schema untrusted: only that
  table is selected, nothing else in the file runs.

Whatever a file or string names as its server, the result connects to the DC's well-known address
(Telegram's own table, the one Pyrogram's DataCenter uses), port 443: an imported file never
chooses where the dashboard connects. An unknown DC number is refused.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import sqlite3
import struct
from typing import Final

from django.views.decorators.debug import sensitive_variables
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from sessions_app.telegram.client import check_session_string
from sessions_app.telegram.errors import SessionMalformed

_PYROGRAM_FORMAT: Final = ">BI?256sQ?"
_PYROGRAM_OLD_FORMATS: Final = {351: ">B?256sI?", 356: ">B?256sQ?"}  # by the string's length
_PORT: Final = 443
_PRODUCTION_DCS: Final = {
    1: "149.154.175.53",
    2: "149.154.167.51",
    3: "149.154.175.100",
    4: "149.154.167.91",
    5: "91.108.56.130",
}
_TEST_DCS: Final = {1: "149.154.175.10", 2: "149.154.167.40", 3: "149.154.175.117"}
# An SQLite session file is a few kilobytes (more with Telethon's entity cache).
MAX_SESSION_FILE_BYTES: Final = 5 * 1024 * 1024


class SessionUnreadable(Exception):
    """The file or string is no session this converter knows; `message` says which and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@sensitive_variables()
def _telethon_string(*, dc_id: int, auth_key: bytes, test_mode: bool = False) -> str:
    table = _TEST_DCS if test_mode else _PRODUCTION_DCS
    if dc_id not in table:
        raise SessionUnreadable(f"It names data centre {dc_id}, which Telegram does not have.")
    if len(auth_key) != 256:
        raise SessionUnreadable("Its authorization key is not 256 bytes long, so it is cut off or not a key.")
    session = StringSession()
    session.set_dc(dc_id, table[dc_id], _PORT)
    session.auth_key = AuthKey(auth_key)
    string: str = session.save()
    return string


def _is_test_dc(dc_id: int, address: object) -> bool:
    """A Telethon session naming a test DC's own address stays on the test servers."""
    return _TEST_DCS.get(dc_id) == str(address) and _PRODUCTION_DCS.get(dc_id) != str(address)


@sensitive_variables()
def from_pyrogram_string(value: str) -> str:
    """A Pyrogram / Kurigram session string as a Telethon StringSession; SessionUnreadable otherwise."""
    value = value.strip()
    try:
        packed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(value) in _PYROGRAM_OLD_FORMATS:
            dc_id, test_mode, auth_key, _user_id, is_bot = struct.unpack(_PYROGRAM_OLD_FORMATS[len(value)], packed)
        else:
            dc_id, _api_id, test_mode, auth_key, _user_id, is_bot = struct.unpack(_PYROGRAM_FORMAT, packed)
    except (binascii.Error, struct.error, ValueError):
        raise SessionUnreadable(
            "It is neither a Telethon session string nor a Pyrogram / Kurigram one (cut off, or another format)."
        ) from None
    if is_bot:
        raise SessionUnreadable("It is a bot's session: teleconnect connectors log in user accounts only.")
    return _telethon_string(dc_id=dc_id, auth_key=auth_key, test_mode=bool(test_mode))


@sensitive_variables()
def from_any_string(value: str) -> str:
    """A Telethon string (at its DC's standard address), else a Pyrogram / Kurigram one converted.

    SessionUnreadable when it is neither.
    """
    value = "".join(value.split())
    if not value:
        raise SessionUnreadable("It is empty.")
    if value.startswith("1"):
        try:
            check_session_string(value)
        except SessionMalformed:
            pass  # a Pyrogram string may start with "1" too
        else:
            return _at_standard_address(value)
    return from_pyrogram_string(value)


@sensitive_variables()
def _at_standard_address(value: str) -> str:
    parsed = StringSession(value)
    if parsed.auth_key is None:
        raise SessionUnreadable("It holds no authorization key: it was never logged in.")
    test_mode = _is_test_dc(parsed.dc_id, parsed.server_address)
    return _telethon_string(dc_id=parsed.dc_id, auth_key=bytes(parsed.auth_key.key), test_mode=test_mode)


@sensitive_variables()
def from_sqlite_file(data: bytes) -> str:
    """A Telethon or Pyrogram ``.session`` file (SQLite) as a Telethon StringSession; SessionUnreadable otherwise."""
    if len(data) > MAX_SESSION_FILE_BYTES:
        raise SessionUnreadable("It is far larger than a session file.")
    if not data.startswith(b"SQLite format 3\x00"):
        raise SessionUnreadable("It is not an SQLite file, so it is not a Telethon or Pyrogram .session file.")
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as db:
            # In memory only: the key never lands in a file. Query-only, and no function or virtual
            # table named in the file's schema runs.
            db.execute("PRAGMA trusted_schema = OFF")
            db.deserialize(data)
            db.execute("PRAGMA trusted_schema = OFF")
            db.execute("PRAGMA query_only = ON")
            return _read_sessions_table(db)
    except sqlite3.Error:
        raise SessionUnreadable("It is a damaged SQLite file, so its session cannot be read.") from None
    except (TypeError, ValueError, OverflowError):
        raise SessionUnreadable("Its sessions table holds values of the wrong kind.") from None


@sensitive_variables()
def _read_sessions_table(db: sqlite3.Connection) -> str:
    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").fetchall()
    if not tables:
        raise SessionUnreadable("It has no sessions table, so it is not a Telethon or Pyrogram .session file.")
    columns = {row[1] for row in db.execute("SELECT * FROM pragma_table_info('sessions')")}
    if {"dc_id", "server_address", "port", "auth_key"} <= columns:  # Telethon
        row = db.execute(
            "SELECT dc_id, server_address, auth_key FROM sessions WHERE auth_key IS NOT NULL LIMIT 1"
        ).fetchone()
        if row is None:
            raise SessionUnreadable("Its sessions table holds no authorization key: it was never logged in.")
        # The file's server_address and port are not used: only the DC's standard address is.
        dc_id, address, auth_key = int(row[0]), row[1], bytes(row[2])
        return _telethon_string(dc_id=dc_id, auth_key=auth_key, test_mode=_is_test_dc(dc_id, address))
    if {"dc_id", "test_mode", "auth_key"} <= columns:  # Pyrogram / Kurigram
        bot = "is_bot" if "is_bot" in columns else "0"
        row = db.execute(f"SELECT dc_id, test_mode, auth_key, {bot} FROM sessions LIMIT 1").fetchone()  # noqa: S608
        if row is None or row[2] is None:
            raise SessionUnreadable("Its sessions table holds no authorization key: it was never logged in.")
        if row[3]:
            raise SessionUnreadable("It is a bot's session: teleconnect connectors log in user accounts only.")
        return _telethon_string(dc_id=int(row[0]), auth_key=bytes(row[2]), test_mode=bool(row[1]))
    raise SessionUnreadable("Its sessions table has neither Telethon's nor Pyrogram's columns.")
