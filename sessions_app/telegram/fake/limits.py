"""Flood control: forced FLOOD_WAITs (test knob) and per-account rate limits with a sliding window."""

from __future__ import annotations

import math

from sessions_app.telegram.fake.accounts import account_by_id, normalize_phone
from sessions_app.telegram.fake.rpc import Call, Rpc


def _phone_of(call: Call, request: object) -> str:
    phone = getattr(request, "phone_number", None)
    if phone:
        return normalize_phone(phone)
    account = account_by_id(call.user_id) if call.user_id is not None else None
    return account.phone if account else ""


def check(call: Call, method: str, request: object) -> None:
    """Answer FLOOD_WAIT_<seconds> if a flood is set for this request, else count it against its rate limit."""
    row = call.db.execute(
        "SELECT MAX(until) AS until FROM floods WHERE method = ? AND (phone = '' OR phone = ?) AND until > ?",
        (method, _phone_of(call, request), call.now),
    ).fetchone()
    if row["until"] is not None:
        raise Rpc(420, f"FLOOD_WAIT_{max(1, math.ceil(row['until'] - call.now))}")

    limit = call.db.execute("SELECT count, window FROM rate_limits WHERE method = ?", (method,)).fetchone()
    if limit is None:
        return
    subject = f"user:{call.user_id}" if call.user_id is not None else f"key:{call.key_id}"
    window = float(limit["window"])
    call.db.execute(
        "DELETE FROM rate_hits WHERE method = ? AND subject = ? AND ts <= ?", (method, subject, call.now - window)
    )
    hits = call.db.execute(
        "SELECT COUNT(*) AS n, MIN(ts) AS oldest FROM rate_hits WHERE method = ? AND subject = ?", (method, subject)
    ).fetchone()
    if hits["n"] >= limit["count"]:
        raise Rpc(420, f"FLOOD_WAIT_{max(1, math.ceil(hits['oldest'] + window - call.now))}")
    call.db.execute("INSERT INTO rate_hits (method, subject, ts) VALUES (?, ?, ?)", (method, subject, call.now))
