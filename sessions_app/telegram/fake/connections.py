"""Live connections to the DCs, and Telegram's rule against one auth key used from two IPs at once.

A connection is a lease: a row whose expiry lies a few seconds ahead, renewed by every request and
by the sender's heartbeat while the client stays connected, deleted on disconnect. A process that
dies without disconnecting stops renewing, and its connection lapses with the lease. Rows live in
the world's SQLite state, so a connector in one process and the dashboard in another see each other.
"""

from __future__ import annotations

import secrets
import sqlite3

from sessions_app.telegram.fake import keys
from sessions_app.telegram.fake.rpc import Rpc

LEASE_SECONDS = 5.0  # a connection nobody renews for this long counts as gone
HEARTBEAT_SECONDS = 1.0  # how often a connected sender renews its lease


def open_connection(db: sqlite3.Connection, *, key_id: int, ip: str, now: float, lease: float = LEASE_SECONDS) -> str:
    """Record a new connection of ``key_id`` from ``ip`` and forget lapsed ones; returns its id."""
    db.execute("DELETE FROM connections WHERE expires <= ?", (now,))
    connection_id = secrets.token_hex(8)
    db.execute(
        "INSERT INTO connections (id, key_id, ip, expires) VALUES (?, ?, ?, ?)",
        (connection_id, key_id, ip, now + lease),
    )
    return connection_id


def renew(db: sqlite3.Connection, connection_id: str, now: float) -> None:
    db.execute("UPDATE connections SET expires = MAX(expires, ?) WHERE id = ?", (now + LEASE_SECONDS, connection_id))


def close(db: sqlite3.Connection, connection_id: str) -> None:
    db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))


def live_ips(db: sqlite3.Connection, key_id: int, now: float) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT ip FROM connections WHERE key_id = ? AND expires > ? ORDER BY ip", (key_id, now)
    ).fetchall()
    return [row["ip"] for row in rows]


def arrive(db: sqlite3.Connection, *, key_id: int, connection_id: str, ip: str, now: float) -> None:
    """A request arrives on a connection: apply the two-IP rule, then renew the lease.

    While another connection of the same key is live from another IP, the key is destroyed and
    the request answers 406 AUTH_KEY_DUPLICATED (Telethon: AuthKeyDuplicatedError); from then on
    every request on that key, from anywhere, answers 401 AUTH_KEY_UNREGISTERED. The same IP twice,
    or two IPs one after the other, is fine. The authorization shows the IP of its latest request.
    """
    key = db.execute("SELECT destroyed FROM auth_keys WHERE key_id = ?", (key_id,)).fetchone()
    if key is None or key["destroyed"]:
        return  # the request itself answers (-404 or 401); there is no connection rule to apply
    elsewhere = db.execute(
        "SELECT 1 FROM connections WHERE key_id = ? AND ip != ? AND expires > ? AND id != ? LIMIT 1",
        (key_id, ip, now, connection_id),
    ).fetchone()
    if elsewhere is not None:
        keys.destroy(db, key_id)
        raise Rpc(406, "AUTH_KEY_DUPLICATED")
    db.execute(
        "INSERT INTO connections (id, key_id, ip, expires) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, ip = excluded.ip,"
        " expires = MAX(connections.expires, excluded.expires)",
        (connection_id, key_id, ip, now + LEASE_SECONDS),
    )
    # A key whose machine moved (knob move_key) is seen from its new address whatever the label says.
    db.execute("UPDATE auth_keys SET ip = COALESCE(seen_ip, ?) WHERE key_id = ?", (ip, key_id))


# --- Dropped connections (the network between a client and its DC breaks) -----------------------


class NetworkDrop(ConnectionError):
    """The connection broke under a request, or cannot be opened during an outage (what Telethon
    sees as a reset or refused TCP connection)."""


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def schedule_drop(db: sqlite3.Connection, *, key_id: int, after_requests: int, down_seconds: float) -> None:
    """The ``after_requests``-th request of ``key_id`` from now breaks its connection; then the key's
    connections cannot be opened for ``down_seconds`` (of the world's clock)."""
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (f"drop:{key_id}", f"{max(1, int(after_requests))} {float(down_seconds)}"),
    )


def is_down(db: sqlite3.Connection, key_id: int, now: float) -> bool:
    """Whether the key's network is in an outage (connecting and requests fail)."""
    until = _meta(db, f"down_until:{key_id}")
    return until is not None and now < float(until)


def request_drops(db: sqlite3.Connection, key_id: int, now: float) -> bool:
    """Count one request of ``key_id``: True when its connection breaks under it (the outage starts)."""
    if is_down(db, key_id, now):
        return True
    scheduled = _meta(db, f"drop:{key_id}")
    if scheduled is None:
        return False
    left_text, seconds_text = scheduled.split()
    left = int(left_text) - 1
    if left > 0:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (f"{left} {seconds_text}", f"drop:{key_id}"))
        return False
    db.execute("DELETE FROM meta WHERE key = ?", (f"drop:{key_id}",))
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
        (f"down_until:{key_id}", str(now + float(seconds_text))),
    )
    return True
