"""Broadcasts to an instance's websocket group (status, login, archive progress)."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def instance_group(session: str) -> str:
    return f"instance.{session}"


def event_broadcast(*, session: str, kind: str, data: dict[str, Any]) -> None:
    """Send once the surrounding transaction commits (at once outside one).

    So a page is never told about a change that then rolls back. Fire-and-forget: a page that
    misses an event still shows the truth on refresh.
    """
    message = {"type": "instance.event", "kind": kind, "data": data}
    transaction.on_commit(lambda: _group_send(session, message))


def _group_send(session: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(instance_group(session), message)
    except Exception as exc:  # noqa: BLE001 - a down channel layer must not fail the action that succeeded
        logger.warning("could not broadcast %s for %s: %s", message["kind"], session, type(exc).__name__)
