"""Strings from Telegram as the archive stores them.

Telegram strings are any UTF-8, NUL included, and a sender chooses them; PostgreSQL refuses NUL in
text columns and enforces each column's length. One function makes every such string storable.
"""

from __future__ import annotations


def storable(value: object, limit: int | None = None) -> str:
    """value as text without NUL characters, cut to limit characters (None: any length)."""
    text = "" if value is None else str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text if limit is None else text[:limit]
