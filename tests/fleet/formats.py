"""Other clients' session formats, made in the tests from demo logins (never committed).

Each packs what the client itself writes: Pyrogram's string (storage/storage.py, current and old
formats), Telethon's SQLite file (telethon.sessions.SQLiteSession itself) and Pyrogram's SQLite file.
"""

from __future__ import annotations

import base64
import csv
import io
import sqlite3
import struct
import tempfile
import zipfile
from pathlib import Path

from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession

DEMO_USER_ID = 7100021001


def parts(telethon_string: str) -> tuple[int, bytes]:
    session = StringSession(telethon_string)
    assert session.auth_key is not None
    return session.dc_id, bytes(session.auth_key.key)


def pyrogram_string(telethon_string: str, *, layout: str = "current", is_bot: bool = False) -> str:
    dc_id, key = parts(telethon_string)
    if layout == "current":
        packed = struct.pack(">BI?256sQ?", dc_id, 1, False, key, DEMO_USER_ID, is_bot)
    elif layout == "old":
        packed = struct.pack(">B?256sI?", dc_id, False, key, 7100, is_bot)
    else:
        packed = struct.pack(">B?256sQ?", dc_id, False, key, DEMO_USER_ID, is_bot)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def telethon_file(telethon_string: str) -> bytes:
    """A .session file as Telethon's SQLiteSession writes it."""
    source = StringSession(telethon_string)
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "account")
        session = SQLiteSession(path)
        session.set_dc(source.dc_id, source.server_address, source.port)
        session.auth_key = AuthKey(source.auth_key.key if source.auth_key else b"")
        session.save()
        session.close()
        return Path(path + ".session").read_bytes()


def pyrogram_file(telethon_string: str, *, is_bot: bool = False) -> bytes:
    """A .session file with Pyrogram's sessions table."""
    dc_id, key = parts(telethon_string)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "account.session"
        db = sqlite3.connect(path)
        db.execute(
            "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, api_id INTEGER, test_mode INTEGER, auth_key BLOB, "
            "date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER)"
        )
        db.execute("INSERT INTO sessions VALUES (?, 1, 0, ?, 0, ?, ?)", (dc_id, key, DEMO_USER_ID, int(is_bot)))
        db.commit()
        db.close()
        return path.read_bytes()


def csv_file(rows: list[tuple[str, ...]], header: str = "session,name,session_string,password") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return out.getvalue().encode()


def zip_file(entries: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()
