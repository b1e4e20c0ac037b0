"""Active sessions (authorizations) of an account, and takeout sessions for exporting it."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from typing import Any

from telethon.tl import functions, types

from sessions_app.telegram.fake import keys, security
from sessions_app.telegram.fake.accounts import COUNTRY
from sessions_app.telegram.fake.keys import DAY
from sessions_app.telegram.fake.rpc import Call, Rpc, dt, handles, method_name

TAKEOUT_DELAY = DAY  # Telegram makes a new takeout wait a day unless the user allows it in an app


def authorization(
    row: Mapping[str, Any], *, current: bool, password_pending: bool = False, country: str = COUNTRY
) -> types.Authorization:
    """One row of "Active sessions" (``row``: an auth_keys row, or a dict shaped like one)."""
    return types.Authorization(
        # Telegram reports the current session with hash 0: it can only be ended by logging out.
        hash=0 if current else int(row["auth_hash"]),
        current=current or None,
        official_app=bool(row["official"]) or None,
        password_pending=password_pending or None,
        encrypted_requests_disabled=bool(row["encrypted_requests_disabled"]) or None,
        call_requests_disabled=bool(row["call_requests_disabled"]) or None,
        unconfirmed=bool(row["unconfirmed"]) or None,
        device_model=row["device_model"],
        platform=row["platform"],
        system_version=row["system_version"],
        api_id=int(row["api_id"]),
        app_name=row["app_name"],
        app_version=row["app_version"],
        date_created=dt(row["date_created"]),
        date_active=dt(row["date_active"]),
        ip=row["ip"],
        country=country,
        region="",
    )


@handles(functions.account.GetAuthorizationsRequest)
def get_authorizations(call: Call, request: functions.account.GetAuthorizationsRequest) -> types.account.Authorizations:
    user_id = call.require_user()
    rows = call.db.execute(
        "SELECT * FROM auth_keys WHERE user_id = ? ORDER BY key_id = ? DESC, date_active DESC", (user_id, call.key_id)
    ).fetchall()
    # A login waiting for the account's 2FA password is listed too, marked password_pending.
    pending = call.db.execute(
        "SELECT * FROM auth_keys WHERE pending_user_id = ? AND auth_hash IS NOT NULL ORDER BY created DESC",
        (user_id,),
    ).fetchall()
    waiting = [
        authorization(
            {**dict(row), "date_created": row["created"], "date_active": row["created"]},
            current=False,
            country=security.country_of(call.db, row["ip"]),
        )
        for row in pending
    ]
    for item in waiting:
        item.password_pending = True
    return types.account.Authorizations(
        authorization_ttl_days=180,
        authorizations=[
            authorization(row, current=row["key_id"] == call.key_id, country=security.country_of(call.db, row["ip"]))
            for row in rows
        ]
        + waiting,
    )


def _not_fresh(call: Call) -> None:
    """A session younger than a day may not end the others (it might be a thief's)."""
    if call.now - float(call.key["date_created"]) < DAY:
        raise Rpc(406, "FRESH_RESET_AUTHORISATION_FORBIDDEN")


@handles(functions.account.ResetAuthorizationRequest)
def reset_authorization(call: Call, request: functions.account.ResetAuthorizationRequest) -> bool:
    user_id = call.require_user()
    _not_fresh(call)
    row = call.db.execute(
        "SELECT key_id FROM auth_keys WHERE (user_id = ? OR pending_user_id = ?) AND auth_hash = ? AND key_id != ?",
        (user_id, user_id, request.hash, call.key_id),
    ).fetchone()
    if request.hash == 0 or row is None:
        raise Rpc(400, "HASH_INVALID")
    keys.unregister(call.db, row["key_id"])
    return True


@handles(functions.account.ChangeAuthorizationSettingsRequest)
def change_authorization_settings(call: Call, request: functions.account.ChangeAuthorizationSettingsRequest) -> bool:
    """Settings of one session: hash 0 is the caller's own; only another session can confirm one."""
    user_id = call.require_user()
    if request.hash == 0:
        row = call.key
    else:
        row = call.db.execute(
            "SELECT * FROM auth_keys WHERE user_id = ? AND auth_hash = ?", (user_id, request.hash)
        ).fetchone()
    if row is None or (request.confirmed and row["key_id"] == call.key_id):
        raise Rpc(400, "HASH_INVALID")
    if request.confirmed:
        call.db.execute("UPDATE auth_keys SET unconfirmed = 0 WHERE key_id = ?", (row["key_id"],))
    if request.encrypted_requests_disabled is not None:
        call.db.execute(
            "UPDATE auth_keys SET encrypted_requests_disabled = ? WHERE key_id = ?",
            (int(request.encrypted_requests_disabled), row["key_id"]),
        )
    if request.call_requests_disabled is not None:
        call.db.execute(
            "UPDATE auth_keys SET call_requests_disabled = ? WHERE key_id = ?",
            (int(request.call_requests_disabled), row["key_id"]),
        )
    return True


@handles(functions.auth.ResetAuthorizationsRequest)
def reset_authorizations(call: Call, request: functions.auth.ResetAuthorizationsRequest) -> bool:
    user_id = call.require_user()
    _not_fresh(call)
    for row in call.db.execute(
        "SELECT key_id FROM auth_keys WHERE user_id = ? AND key_id != ?", (user_id, call.key_id)
    ).fetchall():
        keys.unregister(call.db, row["key_id"])
    return True


@handles(functions.account.InitTakeoutSessionRequest)
def init_takeout(call: Call, request: functions.account.InitTakeoutSessionRequest) -> types.account.Takeout:
    """A new takeout: each one asked for is counted (Telegram notifies the owner's devices every time);
    until the owner approved the export in an app it answers TAKEOUT_INIT_DELAY_<seconds>."""
    user_id = call.require_user()
    _count(call, f"takeout_inits:{user_id}")
    account = call.db.execute("SELECT * FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
    if not account["takeout_approved"]:
        requested = account["takeout_requested"]
        if requested is None:
            requested = call.now
            call.db.execute("UPDATE accounts SET takeout_requested = ? WHERE user_id = ?", (requested, user_id))
        left = math.ceil(requested + TAKEOUT_DELAY - call.now)
        if left > 0:
            raise Rpc(420, f"TAKEOUT_INIT_DELAY_{left}")
    takeout_id = secrets.randbits(62) + 1
    call.db.execute(
        "INSERT INTO takeouts (id, user_id, key_id, created) VALUES (?, ?, ?, ?)",
        (takeout_id, user_id, call.key_id, call.now),
    )
    return types.account.Takeout(id=takeout_id)


def _count(call: Call, key: str) -> None:
    call.db.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1')"
        " ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        (key,),
    )


def takeout_inits(db: Any, user_id: int) -> int:
    """How many takeouts the account asked for (approved or not)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (f"takeout_inits:{user_id}",)).fetchone()
    return int(row["value"]) if row is not None else 0


def takeout_requests(db: Any, user_id: int) -> dict[str, int]:
    """Requests sent inside one of the account's takeouts, by method (e.g. {"upload.getFile": 3})."""
    prefix = f"takeout_calls:{user_id}:"
    rows = db.execute("SELECT key, value FROM meta WHERE key LIKE ?", (prefix + "%",)).fetchall()
    return {row["key"].removeprefix(prefix): int(row["value"]) for row in rows}


def check_takeout(call: Call, takeout_id: int, query: Any = None) -> None:
    """InvokeWithTakeout: the id must be an unfinished takeout of this key's account."""
    user_id = call.require_user()
    row = call.db.execute(
        "SELECT 1 FROM takeouts WHERE id = ? AND user_id = ? AND finished = 0", (takeout_id, user_id)
    ).fetchone()
    if row is None:
        raise Rpc(400, "TAKEOUT_INVALID")
    call.takeout_id = takeout_id
    if query is not None:
        _count(call, f"takeout_calls:{user_id}:{method_name(query)}")


@handles(functions.account.FinishTakeoutSessionRequest)
def finish_takeout(call: Call, request: functions.account.FinishTakeoutSessionRequest) -> bool:
    user_id = call.require_user()
    if call.takeout_id is not None:
        call.db.execute("UPDATE takeouts SET finished = 1 WHERE id = ?", (call.takeout_id,))
    else:
        call.db.execute("UPDATE takeouts SET finished = 1 WHERE user_id = ? AND key_id = ?", (user_id, call.key_id))
    return True
