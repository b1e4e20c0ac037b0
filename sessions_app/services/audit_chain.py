"""Tamper evidence: each audit event stores sha256(previous event's hash + its own canonical content)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Protocol

from django.db import connection


class Chained(Protocol):
    id: Any
    instance_id: Any
    session: str
    actor_id: Any
    actor_name: str
    action: str
    outcome: str
    detail: Any
    created_at: Any
    prev_hash: str
    hash: str


# A constant key for pg_advisory_xact_lock: one audit writer at a time, so the chain never forks.
_LOCK_KEY = 7_120_031


def audit_chain_lock() -> None:
    """Call inside the writing transaction. SQLite's IMMEDIATE transactions already serialize writers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def audit_hash(event: Chained) -> str:
    """The hash an event must carry, from its content and the prev_hash it claims."""
    content = {
        "instance": event.instance_id,
        "session": event.session,
        "actor": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "outcome": event.outcome,
        "detail": event.detail,
        "created_at": event.created_at.astimezone(UTC).isoformat(),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((event.prev_hash + canonical).encode()).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    event_id: int
    reason: str


def audit_chain_first_break(events: Iterable[Chained]) -> tuple[int, BrokenLink | None]:
    """(events checked, the first broken link or None); events in id order."""
    previous = ""
    count = 0
    for event in events:
        count += 1
        if event.prev_hash != previous:
            return count, BrokenLink(event.id, "its link to the previous event does not match (one was removed)")
        if audit_hash(event) != event.hash:
            return count, BrokenLink(event.id, "its content does not match its hash (it was changed)")
        previous = event.hash
    return count, None
