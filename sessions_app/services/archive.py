"""Archive runs: incremental, resumable, flood-aware (DESIGN decision 5).

A run walks every dialog. Each chunk of up to 100 messages is upserted together with the
dialog's checkpoint in one transaction, so a worker killed at any instant resumes on the next run
with no gap and no duplicate. Flood waits are slept (and shown), never fatal.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog, Message
from sessions_app.selectors.archive import ArchiveProgress, archive_progress
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, InstanceBusy
from sessions_app.services.events import event_broadcast
from sessions_app.services.lease import lease_acquire, lease_hand_over, lease_renew, lease_wanted
from sessions_app.services.operations import telegram_operation
from sessions_app.telegram.archive import ArchiveConnection, ArchivedMessage, Chunk, HistoryReader, RemoteDialog
from sessions_app.telegram.errors import FloodWait, TelegramError

logger = logging.getLogger(__name__)

CHUNK = 100
BEAT_SECONDS = 1.0
ProgressListener = Callable[[ArchiveProgress], None]
_MUTABLE_FIELDS = [
    "date", "edit_date", "sender_id", "sender_name", "text", "reply_to_id", "topic_id", "forward_from",
    "media_kind", "media_file_name", "media_size", "media_mime", "views", "grouped_id", "is_service", "action_type",
]  # fmt: skip


def lease_holder_of(run: ArchiveRun) -> str:
    return f"archive-run-{run.pk}"


class _HandOver(Exception):
    """Someone waits for the instance's connection: stop reading, hand it over, resume from the checkpoint."""


class _Progress:
    """Keeps the run row and the websocket group informed, without a write per message."""

    def __init__(self, run: ArchiveRun, listener: ProgressListener | None = None) -> None:
        self.run = run
        self.listener = listener
        self.started = time.monotonic()
        self.waited = 0.0

    def rate(self) -> float:
        busy = time.monotonic() - self.started - self.waited
        return round(self.run.messages_saved / busy, 1) if busy > 0 else 0.0

    def publish(self, dialog: Dialog | None = None, *, flood_seconds: int = 0) -> None:
        """Tell the group and the listener where the run is.

        The run itself carries its current dialog and the end of a flood wait; `dialog` and
        `flood_seconds` are ignored and can go from the callers.
        """
        progress = archive_progress(self.run, rate=self.rate())
        event_broadcast(session=self.run.instance.session, kind="archive", data=progress.as_event())
        if self.listener is not None:
            self.listener(progress)


def _dialog_row(instance: ConnectorInstance, remote: RemoteDialog) -> Dialog:
    dialog, _ = Dialog.objects.update_or_create(
        instance=instance,
        peer_id=remote.peer_id,
        defaults={
            "kind": remote.kind,
            "title": remote.title,
            "username": remote.username,
            "last_message_date": remote.last_date,
        },
    )
    return dialog


_COLUMNS = ["instance_id", "dialog_id", "peer_id", "message_id", *_MUTABLE_FIELDS]
_DATETIME_FIELDS = {"date", "edit_date"}


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in _COLUMNS)
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in _MUTABLE_FIELDS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    # Only quoted identifiers from the model go into the text; every value is a parameter.
    return (
        f"INSERT INTO {quote(Message._meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({quote('instance_id')}, {quote('peer_id')}, {quote('message_id')}) DO UPDATE SET {updates}"
    )


def _upsert_messages(dialog: Dialog, messages: list[ArchivedMessage]) -> None:
    """INSERT … ON CONFLICT DO UPDATE, one prepared statement for the chunk.

    The hot path of every run: bulk_create(update_conflicts=True) splits a chunk into several
    statements (SQLite's parameter limit) and builds model instances first; this is ~2x faster
    and means exactly the same on SQLite and PostgreSQL.
    """
    adapt = connection.ops.adapt_datetimefield_value
    rows = []
    for message in messages:
        values = vars(message)
        rows.append(
            [dialog.instance_id, dialog.pk, dialog.peer_id, message.message_id]
            + [adapt(values[f]) if f in _DATETIME_FIELDS else values[f] for f in _MUTABLE_FIELDS]
        )
    with connection.cursor() as cursor:
        cursor.executemany(_upsert_sql(), rows)


def _save_chunk(*, dialog: Dialog, messages: list[ArchivedMessage], backward: bool, total: int | None) -> int:
    """Upsert one chunk and move the dialog's checkpoint, atomically; returns how many were new."""
    if not messages:
        return 0
    ids = [m.message_id for m in messages]
    with transaction.atomic():
        existing = set(Message.objects.filter(dialog=dialog, message_id__in=ids).values_list("message_id", flat=True))
        _upsert_messages(dialog, messages)
        added = len(set(ids) - existing)
        dialog.message_count += added
        dialog.newest_archived_id = max(dialog.newest_archived_id, max(ids))
        if backward:
            dialog.oldest_archived_id = (
                min(ids) if not dialog.oldest_archived_id else min(dialog.oldest_archived_id, min(ids))
            )
        if total is not None:
            dialog.total_on_server = max(total, dialog.message_count)
        dialog.save(
            update_fields=["message_count", "newest_archived_id", "oldest_archived_id", "total_on_server", "updated_at"]
        )
    return added


class _Runner:
    def __init__(self, run: ArchiveRun, connection: ArchiveConnection, progress: _Progress) -> None:
        self.run = run
        self.connection = connection
        self.progress = progress
        self._last_beat = 0.0
        self.handovers = 0

    def _save(
        self, dialog: Dialog, chunk: Chunk, *, backward: bool, messages: list[ArchivedMessage] | None = None
    ) -> None:
        added = _save_chunk(
            dialog=dialog,
            messages=chunk.messages if messages is None else messages,
            backward=backward,
            total=chunk.total,
        )
        self.run.messages_saved += added
        self._beat(dialog)
        if lease_wanted(session=self.run.instance.session, holder=lease_holder_of(self.run)):
            raise _HandOver()

    def _hand_over(self, reader: HistoryReader | None) -> None:
        """Let a waiting interactive action have the connection, then take it back and carry on.

        The chunk just saved is the checkpoint: the caller restarts its pass from there.
        """
        if reader is not None:
            reader.close()
        session, holder = self.run.instance.session, lease_holder_of(self.run)
        started = time.monotonic()
        self.connection.disconnect()
        lease_hand_over(session=session, holder=holder)
        while True:
            try:
                lease_acquire(session=session, holder=holder, purpose="archive", wait=BEAT_SECONDS, ask_handover=False)
                break
            except InstanceBusy:
                self._beat(self.run.current_dialog, force=True)  # still alive: not a stale run
        self.handovers += 1
        self.progress.waited += time.monotonic() - started
        logger.info("archive run %s handed its connection over for %.1f s", self.run.pk, time.monotonic() - started)
        self.connection.reconnect()

    def _beat(self, dialog: Dialog | None, *, force: bool = False) -> None:
        """Heartbeat, lease renewal and progress: at most once a second (the checkpoints are per chunk)."""
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_SECONDS:
            return
        self._last_beat = now
        self.run.heartbeat_at = timezone.now()
        ArchiveRun.objects.filter(pk=self.run.pk).update(
            messages_saved=self.run.messages_saved, heartbeat_at=self.run.heartbeat_at
        )
        lease_renew(session=self.run.instance.session, holder=lease_holder_of(self.run))
        self.progress.publish(dialog)

    def _set_status(self, status: str, **fields: object) -> None:
        self.run.status = status
        for name, value in fields.items():
            setattr(self.run, name, value)
        self.run.heartbeat_at = timezone.now()
        self.run.save(update_fields=["status", "heartbeat_at", *fields])

    def _sleep_flood(self, error: FloodWait, dialog: Dialog | None) -> None:
        until = timezone.now() + timedelta(seconds=error.seconds)
        self._set_status(ArchiveStatus.FLOOD_WAIT, flood_wait_until=until, flood_waits=self.run.flood_waits + 1)
        self.progress.publish(dialog, flood_seconds=error.seconds)
        lease_renew(
            session=self.run.instance.session,
            holder=lease_holder_of(self.run),
            seconds=error.seconds + settings.TELEGRAM_LEASE_SECONDS,
        )
        started = time.monotonic()
        # Telegram told us exactly how long to wait: this sleep *is* the rate limit, not a guess.
        time.sleep(error.seconds)
        self.progress.waited += time.monotonic() - started
        self._set_status(ArchiveStatus.RUNNING, flood_wait_until=None)

    def _drain(self, dialog: Dialog, remote: RemoteDialog, *, backward: bool) -> None:
        """Read one pass to the end, resuming from the checkpoint after every flood wait."""
        while True:
            if backward:
                reader: HistoryReader = self.connection.history(remote, offset_id=dialog.oldest_archived_id)
            else:
                reader = self.connection.history(remote, min_id=dialog.newest_archived_id, reverse=True)
            while True:
                chunk = reader.next_chunk(CHUNK)
                try:
                    self._save(dialog, chunk, backward=backward)
                except _HandOver:
                    self._hand_over(reader)
                    break  # restart this pass from the checkpoint just saved
                if chunk.error is not None:
                    if isinstance(chunk.error, FloodWait):
                        self._sleep_flood(chunk.error, dialog)
                        break  # restart this pass from the checkpoint just saved
                    raise chunk.error
                if chunk.exhausted:
                    return

    def _refresh_edits(self, dialog: Dialog, remote: RemoteDialog, days: int) -> None:
        cutoff = timezone.now() - timedelta(days=days)
        reader = self.connection.history(remote)
        while True:
            chunk = reader.next_chunk(CHUNK)
            recent = [m for m in chunk.messages if m.date >= cutoff]
            try:
                self._save(dialog, chunk, backward=False, messages=recent)
            except _HandOver:
                self._hand_over(reader)
                reader = self.connection.history(remote, offset_id=min((m.message_id for m in recent), default=0))
                continue
            if chunk.error is not None:
                if isinstance(chunk.error, FloodWait):
                    self._sleep_flood(chunk.error, dialog)
                    reader = self.connection.history(remote, offset_id=min((m.message_id for m in recent), default=0))
                    continue
                raise chunk.error
            if chunk.exhausted or len(recent) < len(chunk.messages):
                reader.close()
                return

    def dialog(self, remote: RemoteDialog) -> None:
        dialog = _dialog_row(self.run.instance, remote)
        self.run.current_dialog = dialog
        self._set_status(self.run.status, current_dialog=dialog)
        if not dialog.history_complete:
            self._drain(dialog, remote, backward=True)
            dialog.history_complete = True
            dialog.save(update_fields=["history_complete", "updated_at"])
        self._drain(dialog, remote, backward=False)
        if self.run.refresh_edits_days:
            self._refresh_edits(dialog, remote, self.run.refresh_edits_days)

    def all_dialogs(self) -> None:
        while True:
            try:
                remotes = self.connection.dialogs()
                break
            except FloodWait as error:
                self._sleep_flood(error, None)
        self.run.dialogs_total = len(remotes)
        self._set_status(ArchiveStatus.RUNNING, dialogs_total=len(remotes))
        for remote in remotes:
            self.dialog(remote)
            self.run.dialogs_done += 1
            self._set_status(
                ArchiveStatus.RUNNING, dialogs_done=self.run.dialogs_done, messages_saved=self.run.messages_saved
            )
            self._beat(self.run.current_dialog, force=True)


def archive_run_execute(*, run_id: int, listener: ProgressListener | None = None) -> ArchiveRun:
    """The worker's job: one whole run. Failures end the run with a message; data already saved stays."""
    run = ArchiveRun.objects.select_related("instance").get(pk=run_id)
    if run.status not in (ArchiveStatus.QUEUED, ArchiveStatus.INTERRUPTED):
        return run
    instance = run.instance
    progress = _Progress(run, listener)
    run.status, run.started_at, run.heartbeat_at = ArchiveStatus.RUNNING, timezone.now(), timezone.now()
    run.worker_host, run.worker_pid = socket.gethostname(), os.getpid()
    run.save(update_fields=["status", "started_at", "heartbeat_at", "worker_host", "worker_pid"])
    try:
        with telegram_operation(
            instance=instance, actor=run.started_by, action="archive.run", holder=lease_holder_of(run)
        ) as op:
            with ArchiveConnection(
                session=op.session, api=op.api, label=op.label, use_takeout=run.use_takeout
            ) as connection:
                _Runner(run, connection, progress).all_dialogs()
    except (TelegramError, ActionRefused) as error:
        # telegram_operation has audited why; the run ends with the sentence, what it saved stays.
        run.status, run.error, run.finished_at = ArchiveStatus.FAILED, error.message, timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "messages_saved"])
        progress.publish()
        return run
    run.status, run.finished_at, run.flood_wait_until = ArchiveStatus.DONE, timezone.now(), None
    run.save(update_fields=["status", "finished_at", "flood_wait_until", "messages_saved"])
    audit_record(
        instance=instance,
        actor=run.started_by,
        action="archive.run",
        detail={"run": run.pk, "messages": run.messages_saved},
    )
    progress.publish()
    return run
