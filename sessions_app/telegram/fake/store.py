"""Where the demo Telegram keeps its state: one SQLite database, file-backed or private in memory.

A file is shared by every process that opens it (web server, task worker, a restart), so an auth
key issued in one process is valid in another. Each request runs in one short IMMEDIATE
transaction; WAL lets readers in other processes carry on meanwhile.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SCHEMA_VERSION = 6  # bump when SCHEMA changes: an older demo state file is rebuilt from scratch
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    user_id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, dc INTEGER NOT NULL,
    salt1 BLOB, salt2 BLOB, verifier BLOB,
    next_msg_id INTEGER NOT NULL DEFAULT 1,
    takeout_approved INTEGER NOT NULL DEFAULT 0, takeout_requested REAL,
    login_email TEXT,
    recovery_email TEXT, email_unconfirmed TEXT, hint TEXT,
    deactivated TEXT, frozen_since REAL, frozen_until REAL, frozen_appeal TEXT,
    password_reset_at REAL
);
CREATE TABLE IF NOT EXISTS auth_keys (
    key_id INTEGER PRIMARY KEY, key_digest BLOB NOT NULL, dc INTEGER NOT NULL, created REAL NOT NULL,
    user_id INTEGER, pending_user_id INTEGER, auth_hash INTEGER UNIQUE,
    date_created REAL, date_active REAL, ip TEXT NOT NULL,
    device_model TEXT NOT NULL DEFAULT '', platform TEXT NOT NULL DEFAULT '',
    system_version TEXT NOT NULL DEFAULT '', api_id INTEGER NOT NULL DEFAULT 0,
    app_name TEXT NOT NULL DEFAULT '', app_version TEXT NOT NULL DEFAULT '',
    official INTEGER NOT NULL DEFAULT 0, unconfirmed INTEGER NOT NULL DEFAULT 0,
    encrypted_requests_disabled INTEGER NOT NULL DEFAULT 0, call_requests_disabled INTEGER NOT NULL DEFAULT 0,
    destroyed INTEGER NOT NULL DEFAULT 0,
    ended_with TEXT, stumbles INTEGER NOT NULL DEFAULT 0,
    last_call INTEGER NOT NULL DEFAULT 0,
    seen_ip TEXT
);
CREATE INDEX IF NOT EXISTS auth_keys_user ON auth_keys (user_id);
CREATE INDEX IF NOT EXISTS auth_keys_last_call ON auth_keys (last_call);
CREATE TABLE IF NOT EXISTS ip_countries (ip TEXT PRIMARY KEY, country TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    hash TEXT PRIMARY KEY, phone TEXT NOT NULL, code TEXT NOT NULL, key_id INTEGER NOT NULL,
    sent REAL NOT NULL, expires REAL NOT NULL,
    kinds TEXT NOT NULL DEFAULT 'App,Sms,Call', stage INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS codes_phone ON codes (phone, sent);
CREATE TABLE IF NOT EXISTS email_codes (
    hash TEXT PRIMARY KEY, email TEXT NOT NULL, code TEXT NOT NULL, key_id INTEGER NOT NULL,
    sent REAL NOT NULL, expires REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS srp (
    srp_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, b BLOB NOT NULL, big_b BLOB NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS login_tokens (
    token BLOB PRIMARY KEY, key_id INTEGER NOT NULL, expires REAL NOT NULL,
    user_id INTEGER, auth_hash INTEGER, imported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS login_tokens_key ON login_tokens (key_id);
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY, key_id INTEGER NOT NULL, ip TEXT NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_key ON connections (key_id, expires);
CREATE TABLE IF NOT EXISTS floods (method TEXT NOT NULL, phone TEXT NOT NULL, until REAL NOT NULL,
    PRIMARY KEY (method, phone));
CREATE TABLE IF NOT EXISTS rate_limits (method TEXT PRIMARY KEY, count INTEGER NOT NULL, window REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rate_hits (method TEXT NOT NULL, subject TEXT NOT NULL, ts REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rate_hits_window ON rate_hits (method, subject, ts);
CREATE TABLE IF NOT EXISTS takeouts (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, key_id INTEGER NOT NULL, created REAL NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS peers (
    owner INTEGER NOT NULL, peer INTEGER NOT NULL, kind TEXT NOT NULL,
    title TEXT NOT NULL, last_name TEXT NOT NULL DEFAULT '', username TEXT NOT NULL DEFAULT '',
    date INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, peer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dialogs (
    owner INTEGER NOT NULL, peer INTEGER NOT NULL, position INTEGER NOT NULL, pinned INTEGER NOT NULL DEFAULT 0,
    top_id INTEGER NOT NULL DEFAULT 0, top_date INTEGER NOT NULL DEFAULT 0, count INTEGER NOT NULL DEFAULT 0,
    next_id INTEGER NOT NULL DEFAULT 1, last_date INTEGER NOT NULL,
    PRIMARY KEY (owner, peer)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS dialogs_order ON dialogs (owner, top_date, peer);
CREATE TABLE IF NOT EXISTS messages (
    owner INTEGER NOT NULL, peer INTEGER NOT NULL, id INTEGER NOT NULL, date INTEGER NOT NULL,
    kind INTEGER NOT NULL, from_peer INTEGER NOT NULL, out INTEGER NOT NULL, text TEXT NOT NULL,
    reply_to INTEGER NOT NULL, topic INTEGER NOT NULL, fwd_peer INTEGER NOT NULL, edit_date INTEGER NOT NULL,
    views INTEGER NOT NULL, grouped_id INTEGER NOT NULL, action TEXT NOT NULL,
    PRIMARY KEY (owner, peer, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_by_id ON messages (owner, id);
CREATE INDEX IF NOT EXISTS messages_by_date ON messages (owner, peer, date);
"""


class Store:
    """SQLite connections for one world: thread-local for a file, one locked connection in memory."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.RLock()
        self._memory: sqlite3.Connection | None = None
        if path is None:
            self._memory = self._open(":memory:")
        with self.tx() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
                for (name,) in tables:
                    db.execute(f'DROP TABLE IF EXISTS "{name}"')
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _open(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        if target != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _connection(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        db = getattr(self._local, "db", None)
        if db is None:
            assert self.path is not None
            db = self._local.db = self._open(self.path)
        return db

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; committed unless an unexpected exception escapes."""
        with self._lock if self._memory is not None else _nolock():
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException as exc:
                # An RPC error is an answer, not a failure: what led to it (a consumed SRP id, a
                # counted request) must stick, as it does on Telegram.
                if getattr(exc, "commit_anyway", False):
                    db.execute("COMMIT")
                else:
                    db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")


@contextmanager
def _nolock() -> Iterator[None]:
    yield
