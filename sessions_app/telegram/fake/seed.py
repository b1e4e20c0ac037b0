"""The demo world's starting state: accounts, their 2FA verifiers, their other devices and their chats."""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading

from telethon.crypto import AuthKey

from sessions_app.telegram.fake import history, keys, srp
from sessions_app.telegram.fake.accounts import DEMO_ACCOUNTS, SEEDED_DEVICES

_VERIFIERS: dict[str, srp.Verifier] = {}  # one PBKDF2 per password per process, not per world
_VERIFIERS_LOCK = threading.Lock()


def verifier_for(password: str) -> srp.Verifier:
    """The SRP verifier of ``password`` (one PBKDF2 per password per process)."""
    with _VERIFIERS_LOCK:
        if password not in _VERIFIERS:
            _VERIFIERS[password] = srp.make_verifier(password)
        return _VERIFIERS[password]


def seed(db: sqlite3.Connection, now: float) -> None:
    """Fill a new state once; a state file that was seeded already is left as it is."""
    if db.execute("SELECT 1 FROM meta WHERE key = 'seeded'").fetchone():
        return
    for account in DEMO_ACCOUNTS:
        verifier = verifier_for(account.password) if account.password is not None else None
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
            auth_hash = keys.new_auth_hash()
            auth_hash = -abs(auth_hash) if device.negative_hash else abs(auth_hash)
            key = os.urandom(256)
            db.execute(
                "INSERT INTO auth_keys (key_id, key_digest, dc, created, user_id, auth_hash, date_created,"
                " date_active, ip, device_model, platform, system_version, api_id, app_name, app_version,"
                " official) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (
                    keys.signed(AuthKey(key).key_id),
                    keys.digest(key),
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
