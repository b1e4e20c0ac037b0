"""When an instance is checked next: its own slot in every interval, so checks stay spread out."""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta

from django.conf import settings

from sessions_app.models_health import Health

# A check that could not reach the store or Telegram, or found the instance busy, is retried this soon.
RETRY_SECONDS = 60


def interval_seconds() -> int:
    return int(settings.HEALTH_CHECK_INTERVAL_SECONDS)


def phase(session: str, interval: float) -> float:
    """The instance's fixed offset in [0, interval): a hash of its SESSION, so checks never bunch up.

    The slot survives restarts, late checks and catch-up after a pause (a random offset
    renewed after each check would not: a catch-up leaves every late instance in one heap).
    """
    return zlib.crc32(session.encode("utf-8")) / 2**32 * interval


def next_slot(session: str, after: datetime, interval: float | None = None) -> datetime:
    """The instance's first slot strictly after `after`: k * interval + phase, on the epoch's grid."""
    interval = float(interval or interval_seconds())
    offset = phase(session, interval)
    now = after.timestamp()
    slot = math.floor((now - offset) / interval) * interval + offset
    while slot <= now:
        slot += interval
    return datetime.fromtimestamp(slot, tz=after.tzinfo)


def next_check_after(session: str, result: str, now: datetime) -> datetime:
    """Due again at the next slot; a transient result is retried sooner."""
    slot = next_slot(session, now)
    if result in (Health.UNREACHABLE, Health.BUSY):
        return min(slot, now + timedelta(seconds=min(RETRY_SECONDS, interval_seconds())))
    return slot
