"""Auth keys as the DCs keep them: issuing one, binding it to an account, unbinding and destroying it.

A key row is the server's whole view of one client: the account it is signed in to (``user_id``),
the account waiting for its 2FA password (``pending_user_id``), the authorization hash shown in
"Active sessions", and the device labels the client sent in initConnection.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3

from telethon.crypto import AuthKey
from telethon.tl import types

from sessions_app.telegram.fake.accounts import account_by_id
from sessions_app.telegram.fake.entities import self_user

DAY = 86400  # the 24-hour rule: a younger authorization may not end others


def signed(key_id: int) -> int:
    """A 64-bit key id as Telegram stores it (signed)."""
    return key_id - 2**64 if key_id >= 2**63 else key_id


def digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def new_auth_hash() -> int:
    """A 64-bit signed authorization hash that a float (JavaScript number) cannot hold exactly.

    Odd and above 2**53 in magnitude, so any rounding through a double changes it.
    """
    magnitude = (secrets.randbelow(2**63 - 2**53 - 2) + 2**53 + 1) | 1
    return -magnitude if secrets.randbelow(2) else magnitude


def issue(db: sqlite3.Connection, *, dc: int, now: float, ip: str) -> bytes:
    """A new auth key on ``dc``: what a DH exchange with that DC would leave on both sides."""
    key = os.urandom(256)
    db.execute(
        "INSERT INTO auth_keys (key_id, key_digest, dc, created, ip) VALUES (?, ?, ?, ?, ?)",
        (signed(AuthKey(key).key_id), digest(key), dc, now, ip),
    )
    return key


def authorize(db: sqlite3.Connection, key_id: int, user_id: int, now: float) -> types.auth.Authorization:
    """Bind the key to the user: a new authorization (device session) starts now.

    A hash reserved for the key earlier (by an accepted login token) is kept, and so is its
    unconfirmed mark; otherwise the authorization gets a fresh hash.
    """
    db.execute(
        "UPDATE auth_keys SET user_id = ?, pending_user_id = NULL, auth_hash = COALESCE(auth_hash, ?),"
        " date_created = ?, date_active = ?, ended_with = NULL WHERE key_id = ?",
        (user_id, new_auth_hash(), now, now, key_id),
    )
    _maybe_stumble(db, key_id)
    db.execute("DELETE FROM login_tokens WHERE key_id = ? AND user_id IS NULL", (key_id,))
    account = account_by_id(user_id)
    assert account is not None
    return types.auth.Authorization(user=self_user(account))


STUMBLES_META = "stumble_new_keys"


def _maybe_stumble(db: sqlite3.Connection, key_id: int) -> None:
    """A key just logged in by login token may answer AUTH_KEY_UNREGISTERED once while it propagates.

    The knob ``stumble_next_minted_keys`` says how many such keys do; each stumbles on one request.
    """
    row = db.execute("SELECT value FROM meta WHERE key = ?", (STUMBLES_META,)).fetchone()
    left = int(row["value"]) if row else 0
    key = db.execute("SELECT unconfirmed FROM auth_keys WHERE key_id = ?", (key_id,)).fetchone()
    if left <= 0 or key is None or not key["unconfirmed"]:
        return
    db.execute("UPDATE auth_keys SET stumbles = 1 WHERE key_id = ?", (key_id,))
    db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(left - 1), STUMBLES_META))


def bind(
    db: sqlite3.Connection,
    key_id: int,
    user_id: int,
    now: float,
    *,
    auth_hash: int | None = None,
    unconfirmed: bool = False,
) -> bool:
    """The code or login token was right: authorize the key, or leave it waiting for the 2FA password.

    Returns whether the key is signed in now (False: the account's password comes next).
    """
    db.execute(
        "UPDATE auth_keys SET auth_hash = COALESCE(?, auth_hash, ?), unconfirmed = ? WHERE key_id = ?",
        (auth_hash, new_auth_hash(), int(unconfirmed), key_id),
    )
    # The account's password as it is now (the knobs switch two-step verification on and off).
    row = db.execute("SELECT verifier FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
    if row is not None and row["verifier"] is not None:
        db.execute("UPDATE auth_keys SET pending_user_id = ? WHERE key_id = ?", (user_id, key_id))
        return False
    authorize(db, key_id, user_id, now)
    return True


def unregister(db: sqlite3.Connection, key_id: int, *, answer: str | None = None) -> None:
    """The key stays known to the DC but is no longer anyone's: requests answer AUTH_KEY_UNREGISTERED.

    ``answer`` is another 401 the key answers from now on: SESSION_REVOKED after the owner
    terminated all sessions.
    """
    db.execute(
        "UPDATE auth_keys SET user_id = NULL, pending_user_id = NULL, auth_hash = NULL, unconfirmed = 0,"
        " encrypted_requests_disabled = 0, call_requests_disabled = 0, stumbles = 0, ended_with = ? WHERE key_id = ?",
        (answer, key_id),
    )


def destroy(db: sqlite3.Connection, key_id: int) -> None:
    """The key is dead for good (used from two IPs at once): every later request answers 401."""
    unregister(db, key_id)
    db.execute("UPDATE auth_keys SET destroyed = 1 WHERE key_id = ?", (key_id,))
    db.execute("DELETE FROM connections WHERE key_id = ?", (key_id,))
