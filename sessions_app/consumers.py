"""Websocket for one instance: authenticate, join its group, forward status/login/archive events.

Protocol (server -> client, JSON): first {"kind": "snapshot", "data": {"status", "label", "run"}}
with "run" in the shape of an "archive" event (or null), then every event broadcast to the
instance's group as {"kind": ..., "data": ...}. Refusals close the handshake with 4401 (not
signed in) or 4403 (no role on this instance, or no such instance). Client messages are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from sessions_app import selectors, selectors_archive
from sessions_app.models import ConnectorInstance
from sessions_app.services.events import instance_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# With the in-memory channel layer the task worker (another process) cannot reach this one, so
# the consumer reads the run's progress from the database instead, this often.
POLL_SECONDS = 1.0


def _snapshot_for(user: Any, session: str) -> dict[str, Any] | None:
    """The snapshot the user may see, or None when they have no role on the instance."""
    instance = ConnectorInstance.objects.filter(session=session).first()
    if instance is None or selectors.role_of(user, instance) is None:
        return None
    return selectors_archive.archive_snapshot(instance=instance)


def _latest_progress(user: Any, session: str) -> dict[str, Any] | None:
    """The newest run's progress (finished ones too, so the page sees the end), or None if access is gone."""
    instance = ConnectorInstance.objects.filter(session=session).first()
    if instance is None or selectors.role_of(user, instance) is None:
        return None
    run = instance.archive_runs.select_related("current_dialog").order_by("-created_at", "-id").first()
    return {"run": selectors_archive.archive_run_progress(run) if run is not None else None}


class InstanceConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    poller: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        session = self.scope["url_route"]["kwargs"]["session"]
        snapshot = await database_sync_to_async(_snapshot_for)(user, session)
        if snapshot is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = instance_group(session)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"kind": "snapshot", "data": snapshot})
        if isinstance(self.channel_layer, InMemoryChannelLayer):
            self.poller = asyncio.create_task(self._poll_progress(user, session))

    async def _poll_progress(self, user: Any, session: str) -> None:
        last: dict[str, Any] | None = None
        while True:
            await asyncio.sleep(POLL_SECONDS)
            current = await database_sync_to_async(_latest_progress)(user, session)
            if current is None:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            if current["run"] is not None and current != last:
                await self.send_json({"kind": "archive", "data": current["run"]})
            last = current

    async def disconnect(self, code: int) -> None:
        if self.poller is not None:
            self.poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.poller
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """The feed is one-way (actions go through HTTP forms): input, even malformed JSON, is dropped."""

    async def instance_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"kind": event["kind"], "data": event["data"]})
