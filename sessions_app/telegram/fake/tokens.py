"""Login tokens (https://core.telegram.org/api/qr-login): export, accept from a signed-in device, import.

A key that is not signed in exports a token (what a QR code shows). A signed-in key of the account
accepts it: when the token's key is on the account's DC it is signed in at once (or waits for the
2FA password); otherwise its next export answers loginTokenMigrateTo and the client finishes on
the home DC with auth.importLoginToken. Either way the new authorization is unconfirmed until
another session of the account confirms it (account.changeAuthorizationSettings).
"""

from __future__ import annotations

import math
import os
import sqlite3

from telethon.tl import functions, types

from sessions_app.telegram.fake import keys
from sessions_app.telegram.fake.accounts import account_by_id
from sessions_app.telegram.fake.devices import authorization
from sessions_app.telegram.fake.entities import self_user
from sessions_app.telegram.fake.rpc import Call, Rpc, dt, handles

TOKEN_TTL = 30  # seconds a login token can be accepted (Telegram: 30)


def accept(db: sqlite3.Connection, *, token: bytes, user_id: int, now: float) -> types.Authorization:
    """``user_id`` accepts the token: the new authorization, as acceptLoginToken answers it."""
    row = db.execute("SELECT * FROM login_tokens WHERE token = ?", (bytes(token),)).fetchone()
    if row is None:
        raise Rpc(
            400, "AUTH_TOKEN_INVALIDX"
        )  # acceptLoginToken's name for it; importLoginToken says AUTH_TOKEN_INVALID
    if row["user_id"] is not None:
        raise Rpc(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
    if row["expires"] <= now:
        raise Rpc(400, "AUTH_TOKEN_EXPIRED")
    account = account_by_id(user_id)
    assert account is not None
    auth_hash = keys.new_auth_hash()
    db.execute("UPDATE login_tokens SET user_id = ?, auth_hash = ? WHERE token = ?", (user_id, auth_hash, row["token"]))
    key = db.execute("SELECT * FROM auth_keys WHERE key_id = ?", (row["key_id"],)).fetchone()
    if key["dc"] == account.dc:
        keys.bind(db, key["key_id"], user_id, now, auth_hash=auth_hash, unconfirmed=True)
    # On another DC the session starts with importLoginToken; the device is the same client either way.
    session = {**dict(key), "auth_hash": auth_hash, "date_created": now, "date_active": now, "unconfirmed": 1}
    return authorization(session, current=False, password_pending=account.password is not None)


def _success(user_id: int) -> types.auth.LoginTokenSuccess:
    account = account_by_id(user_id)
    assert account is not None
    return types.auth.LoginTokenSuccess(authorization=types.auth.Authorization(user=self_user(account)))


@handles(functions.auth.ExportLoginTokenRequest)
def export_login_token(call: Call, request: functions.auth.ExportLoginTokenRequest) -> types.auth.TypeLoginToken:
    if call.key["pending_user_id"] is not None:  # accepted already; only the password is missing
        raise Rpc(401, "SESSION_PASSWORD_NEEDED")
    if call.user_id is not None:
        return _success(call.user_id)
    row = call.db.execute(
        "SELECT * FROM login_tokens WHERE key_id = ? ORDER BY expires DESC LIMIT 1", (call.key_id,)
    ).fetchone()
    if row is not None and row["user_id"] is not None and not row["imported"]:
        account = account_by_id(row["user_id"])
        assert account is not None
        if account.dc != call.dc:
            return types.auth.LoginTokenMigrateTo(dc_id=account.dc, token=row["token"])
        # Accepted on this DC, yet the key is not signed in: that session was ended since. Start over.
    elif row is not None and row["user_id"] is None and row["expires"] > call.now:
        return types.auth.LoginToken(expires=dt(row["expires"]), token=row["token"])
    call.db.execute("DELETE FROM login_tokens WHERE key_id = ? AND user_id IS NULL", (call.key_id,))
    call.db.execute("DELETE FROM login_tokens WHERE expires < ?", (call.now - keys.DAY,))
    token = os.urandom(32)
    expires = math.ceil(call.now) + TOKEN_TTL
    call.db.execute("INSERT INTO login_tokens (token, key_id, expires) VALUES (?, ?, ?)", (token, call.key_id, expires))
    return types.auth.LoginToken(expires=dt(expires), token=token)


@handles(functions.auth.AcceptLoginTokenRequest)
def accept_login_token(call: Call, request: functions.auth.AcceptLoginTokenRequest) -> types.Authorization:
    return accept(call.db, token=request.token, user_id=call.require_user(), now=call.now)


@handles(functions.auth.ImportLoginTokenRequest)
def import_login_token(call: Call, request: functions.auth.ImportLoginTokenRequest) -> types.auth.TypeLoginToken:
    """The second half of a login after loginTokenMigrateTo: a fresh key on the account's DC."""
    row = call.db.execute("SELECT * FROM login_tokens WHERE token = ?", (request.token,)).fetchone()
    if row is None or row["user_id"] is None:
        raise Rpc(400, "AUTH_TOKEN_INVALID")
    if row["imported"]:
        raise Rpc(400, "AUTH_TOKEN_ALREADY_ACCEPTED")
    if row["expires"] <= call.now:
        raise Rpc(400, "AUTH_TOKEN_EXPIRED")
    account = account_by_id(row["user_id"])
    assert account is not None
    if account.dc != call.dc:
        return types.auth.LoginTokenMigrateTo(dc_id=account.dc, token=row["token"])
    call.db.execute("UPDATE login_tokens SET imported = 1 WHERE token = ?", (row["token"],))
    if not keys.bind(call.db, call.key_id, account.user_id, call.now, auth_hash=row["auth_hash"], unconfirmed=True):
        raise Rpc(401, "SESSION_PASSWORD_NEEDED")
    return _success(account.user_id)
