"""Websocket for one instance: authenticate, join its group, push the archive page's live parts.

Server -> client messages are HTML fragments that the page swaps in by id (the htmx websocket
extension, out-of-band): the instance's status badge, the live block of the run, the current
dialog's counts and, when a run ends, the dialogs and runs tables. They are the templates the page
renders on load, so a refresh shows the same. Client messages are ignored.

Refusals accept the handshake, then close with a code the browser sees and the htmx extension does
not retry: 4401 (not signed in, or the two-step sign-in's code not entered yet) and 4404 (no
websocket at that path, or no instance of that SESSION that this user has a role on). Like the
HTTP pages' 404, 4404 does not say whether the instance exists: an outsider cannot probe for
SESSION names. An open socket is closed with 4404 as soon as the user's role on the instance is
taken away (an "access" event, sent on every membership change, whatever the channel layer), as
the next page load would answer 404.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import InMemoryChannelLayer
from django.contrib.auth.models import AnonymousUser, User

from sessions_app.models import ArchiveStatus, ConnectorInstance, Role
from sessions_app.selectors import access
from sessions_app.selectors import archive as selectors_archive
from sessions_app.selectors.archive import ArchiveProgress
from sessions_app.services.events import instance_group
from sessions_app.signin import second_factor_step, session_verified
from sessions_app.views.archive import (
    archive_dialog_html,
    archive_dialogs_html,
    archive_live_html,
    archive_start_html,
    archive_tables_html,
    instance_status_html,
)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
# Once a second: the flood-wait countdown is pushed at this pace, and with the in-memory channel
# layer (the task worker, another process, cannot reach this one) the run is read from the DB.
POLL_SECONDS = 1.0


def _access(user: User | AnonymousUser, session: str) -> tuple[ConnectorInstance, str] | int:
    """(instance, role), or the close code that refuses this user: the same whether the instance exists or not."""
    try:
        return access.instance_access(user=user, session=session, needed=Role.VIEWER)
    except (access.NoSuchInstance, access.RoleTooLow):
        return CLOSE_NOT_FOUND


def _signed_in(user: User | AnonymousUser, session: Any) -> bool:
    """Signed in, and past the two-step sign-in's code step where it applies (as the HTTP pages require)."""
    if user is None or not user.is_authenticated:
        return False
    verified = session is not None and session_verified(user, session)
    return second_factor_step(user, verified=verified) is None


def _latest_progress(user: User | AnonymousUser, session: str) -> ArchiveProgress | None | int:
    """The newest run's progress (None without runs), or the close code once access is gone."""
    found = _access(user, session)
    if isinstance(found, int):
        return found
    run = selectors_archive.archive_run_latest(instance=found[0])
    return selectors_archive.archive_progress(run) if run is not None else None


def _live_and_start(instance: ConnectorInstance, can_operate: bool, progress: ArchiveProgress | None) -> str:
    html = archive_live_html(progress=progress)
    return html + archive_start_html(instance=instance, progress=progress) if can_operate else html


def _snapshot(instance: ConnectorInstance, can_operate: bool) -> tuple[list[str], ArchiveProgress | None]:
    """What a fresh socket gets (the page's live parts as they are now) and the newest run's progress."""
    current = selectors_archive.archive_run_current(instance=instance)
    progress = selectors_archive.archive_progress(current) if current is not None else None
    frames = [
        instance_status_html(status=instance.status, label=instance.get_status_display()),
        _live_and_start(instance, can_operate, progress),
    ]
    latest = selectors_archive.archive_run_latest(instance=instance)
    return frames, selectors_archive.archive_progress(latest) if latest is not None else None


def _progress_frames(
    instance: ConnectorInstance, can_operate: bool, progress: ArchiveProgress, rows: set[int]
) -> list[str]:
    """The live block and the current dialog's counts; the tables too once the run has ended.

    A dialog the page has no row for yet (new in this run) gets the dialogs table first, so its
    counting cells have a row to land in; `rows` (the peers the page has rows for) grows with it.
    """
    frames = [_live_and_start(instance, can_operate, progress)]
    if progress.dialog is not None:
        if progress.dialog.peer_id not in rows:
            table, peers = archive_dialogs_html(instance=instance, can_operate=can_operate)
            if progress.dialog.peer_id in peers:
                frames.append(table)
                rows.update(peers)
        frames.append(archive_dialog_html(progress.dialog))
    if not progress.is_active:
        frames.append(archive_tables_html(instance=instance, can_operate=can_operate))
    return frames


class InstanceConsumer(AsyncWebsocketConsumer):
    instance: ConnectorInstance
    user: User
    can_operate = False
    group: str | None = None
    ticker: asyncio.Task[None] | None = None
    # The newest run's progress as last shown (or as the page showed it on connect).
    progress: ArchiveProgress | None = None
    shown_wait = 0
    rows: set[int]  # the dialogs the page has rows for, as far as this socket knows (it sent them)

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if not await database_sync_to_async(_signed_in)(user, self.scope.get("session")):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user, self.rows = user, set()
        session = self.scope["url_route"]["kwargs"]["session"]
        found = await database_sync_to_async(_access)(user, session)
        if isinstance(found, int):
            await self.close(code=found)
            return
        self.instance, role = found
        self.can_operate = access.has_role(role, Role.OPERATOR)
        self.group = instance_group(session)
        await self.channel_layer.group_add(self.group, self.channel_name)
        frames, self.progress = await database_sync_to_async(_snapshot)(self.instance, self.can_operate)
        await self._send_frames(frames)
        self.shown_wait = self.progress.flood_wait_seconds if self.progress is not None else 0
        poll = isinstance(self.channel_layer, InMemoryChannelLayer)
        self.ticker = asyncio.create_task(self._tick(user, session, poll=poll))

    async def _send_frames(self, frames: list[str]) -> None:
        # One fragment kind per frame: table cells parse only among their own kind.
        for html in frames:
            await self.send(text_data=html)

    async def _show(self, progress: ArchiveProgress) -> None:
        self.progress = progress
        self.shown_wait = progress.flood_wait_seconds
        frames = await database_sync_to_async(_progress_frames)(self.instance, self.can_operate, progress, self.rows)
        await self._send_frames(frames)

    async def _tick(self, user: User | AnonymousUser, session: str, *, poll: bool) -> None:
        """Each second: read the run from the DB when events cannot arrive, and count a flood wait down."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if poll:
                latest = await database_sync_to_async(_latest_progress)(user, session)
                if isinstance(latest, int):
                    await self.close(code=latest)
                    return
                if latest is not None and latest != self.progress:
                    await self._show(latest)
                    continue
            progress = self.progress
            if progress is not None and progress.status == ArchiveStatus.FLOOD_WAIT:
                left = progress.flood_wait_seconds
                if left != self.shown_wait:
                    self.shown_wait = left
                    await self.send(text_data=archive_live_html(progress=progress))

    async def _recheck_access(self) -> None:
        """The user's role changed: close at once when it is gone, else show or hide the operators' parts."""
        found = await database_sync_to_async(_access)(self.user, self.instance.session)
        if isinstance(found, int):
            await self.close(code=found)
            return
        self.can_operate = access.has_role(found[1], Role.OPERATOR)

    async def disconnect(self, code: int) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """The feed is one-way (actions go through HTTP forms): any input is dropped."""

    async def instance_event(self, event: dict[str, Any]) -> None:
        if event["kind"] == "access":
            if event["data"].get("user_id") == self.user.pk:
                await self._recheck_access()
        elif event["kind"] == "archive":
            await self._show(ArchiveProgress.from_event(event["data"]))
        elif event["kind"] == "status":
            data = event["data"]
            await self.send(text_data=instance_status_html(status=data["status"], label=data["label"]))


class NoRouteConsumer(AsyncWebsocketConsumer):
    """Any other websocket path: a close code the client can act on, not an HTTP 500."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
