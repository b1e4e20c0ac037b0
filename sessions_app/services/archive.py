"""Archive runs: incremental, resumable, flood-aware (DESIGN decision 5).

A run walks every dialog, several at a time on one connection (ARCHIVE_CONCURRENT_DIALOGS): the
reading runs on the connection's event loop (services.archive_pipeline) while this thread stores
what was read (services.archive_store). Each chunk of up to 100 messages is stored together with
its dialog's checkpoints in one transaction, so a worker killed at any instant resumes on the next
run with no gap and no duplicate. Flood waits are slept (and shown), never fatal.

A dropped connection is reconnected and the reading starts again from the checkpoints; a health
check is answered over the run's connection between chunks (services.archive_live).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog
from sessions_app.services.archive_dialogs import dialog_skip, dialog_unskip, dialogs_to_read, old_chat_adopt
from sessions_app.services.archive_live import (
    Progress,
    archive_reconnect,
    archive_serve,
    takeout_files_max,
)
from sessions_app.services.archive_live import (
    ProgressListener as ProgressListener,  # re-exported: archive_runs names the listener from here
)
from sessions_app.services.archive_media import archive_media_download
from sessions_app.services.archive_pipeline import End, Failed, Finished, Flooded, Item, Pipeline, Plan, Skipped, Stored
from sessions_app.services.archive_status import archive_run_set_status
from sessions_app.services.archive_store import chunks_store
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, InstanceBusy
from sessions_app.services.lease import SERVING_PURPOSE, lease_acquire, lease_hand_over, lease_renew, lease_wanted
from sessions_app.services.operations import telegram_operation
from sessions_app.telegram.archive import ArchiveConnection, RemoteDialog
from sessions_app.telegram.errors import FloodWait, TelegramError, TelegramUnreachable

logger = logging.getLogger(__name__)

BEAT_SECONDS = 1.0
BATCH = 20  # chunks stored in one transaction at most
GATHER_SECONDS = 0.2  # how long the first chunk of a batch may wait for company
GATHER_STEP = 0.05  # how often it looks whether the batch is full


def lease_holder_of(run: ArchiveRun) -> str:
    return f"archive-run-{run.pk}"


class _HandOver(Exception):
    """Someone waits for the instance's connection: stop reading, hand it over, resume from the checkpoint."""


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


class _Runner:
    """The storing half of a run, on the run's thread: takes the pipeline's chunks and stores them.

    The reading half (services.archive_pipeline) runs on the connection's loop meanwhile. After
    each chunk the run checks whether an interactive action waits for the connection; if so, it
    stops the reading (the chunks read ahead are dropped: the stored checkpoints say where each
    dialog is), hands the connection over, takes it back and starts reading again from there.
    """

    def __init__(self, run: ArchiveRun, connection: ArchiveConnection, progress: Progress) -> None:
        self.run = run
        self.connection = connection
        self.progress = progress
        self._last_beat = 0.0
        self._flood_started: float | None = None
        self.handovers = 0
        self.reconnects = 0
        self.peak_in_flight = 0
        self.dialogs: dict[int, tuple[Dialog, RemoteDialog]] = {}
        self.planned: set[int] = set()  # every dialog this run reads (or read), by pk

    def _hand_over(self) -> None:
        """Let a waiting interactive action have the connection, then take it back and carry on."""
        session, holder = self.run.instance.session, lease_holder_of(self.run)
        started = time.monotonic()
        self.connection.disconnect()
        lease_hand_over(session=session, holder=holder)
        while True:
            try:
                lease_acquire(
                    session=session, holder=holder, purpose=SERVING_PURPOSE, wait=BEAT_SECONDS, ask_handover=False
                )
                break
            except InstanceBusy:
                self._beat(force=True)  # still alive: not a stale run
        self.handovers += 1
        self.progress.waited += time.monotonic() - started
        logger.info("archive run %s handed its connection over for %.1f s", self.run.pk, time.monotonic() - started)
        self.connection.reconnect()

    def _reconnect(self) -> None:
        """The connection dropped: bring it back (showing the countdown, keeping the lease) or end the run."""

        def waiting(seconds: int) -> None:
            self.progress.reconnecting_in = seconds
            self._beat(force=True)

        try:
            self.progress.waited += archive_reconnect(connection=self.connection, waiting=waiting)
        finally:
            self.progress.reconnecting_in = 0
        self.reconnects += 1

    def _beat(self, *, force: bool = False) -> None:
        """Heartbeat, lease renewal and progress: at most once a second (the checkpoints are per chunk)."""
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_SECONDS:
            return
        self._last_beat = now
        self.run.heartbeat_at = timezone.now()
        ArchiveRun.objects.filter(pk=self.run.pk).update(
            messages_saved=self.run.messages_saved,
            heartbeat_at=self.run.heartbeat_at,
            current_dialog=self.run.current_dialog,
        )
        lease_renew(session=self.run.instance.session, holder=lease_holder_of(self.run))
        self.progress.publish()
        if not self.progress.reconnecting_in:
            archive_serve(
                session=self.run.instance.session, holder=lease_holder_of(self.run), connection=self.connection
            )

    def _set_status(self, status: str, **fields: object) -> None:
        archive_run_set_status(run=self.run, status=status, **fields)

    def _flood_began(self, seconds: int) -> None:
        """Every request waits `seconds` (the pipeline sleeps them); the run shows the wait and keeps its lease."""
        until = timezone.now() + timedelta(seconds=seconds)
        if self._flood_started is None:
            self._flood_started = time.monotonic()
        self._set_status(ArchiveStatus.FLOOD_WAIT, flood_wait_until=until, flood_waits=self.run.flood_waits + 1)
        self.progress.publish()
        lease_renew(
            session=self.run.instance.session,
            holder=lease_holder_of(self.run),
            seconds=seconds + settings.TELEGRAM_LEASE_SECONDS,
        )

    def _flood_ended(self) -> None:
        if self._flood_started is not None:
            self.progress.waited += time.monotonic() - self._flood_started
            self._flood_started = None
        self._set_status(ArchiveStatus.RUNNING, flood_wait_until=None)

    def _store(self, items: list[Stored], pipeline: Pipeline) -> None:
        if self._flood_started is not None:
            self._flood_ended()
        try:
            added = chunks_store([(self.dialogs[item.key][0], item) for item in items])
        finally:
            pipeline.stored(len(items))
        self.run.messages_saved += added
        self.run.current_dialog = self.dialogs[items[-1].key][0]
        for item in items:
            if item.migrated_from is not None:
                self._adopt(self.dialogs[item.key][0], item.migrated_from)
        self._beat()

    def _adopt(self, supergroup: Dialog, remote: RemoteDialog) -> None:
        """The supergroup was upgraded from a basic group: read that group too, in this run."""
        dialog = old_chat_adopt(supergroup=supergroup, remote=remote)
        if dialog.pk not in self.planned:
            self.planned.add(dialog.pk)
            self.dialogs[dialog.pk] = (dialog, remote)
            self.run.dialogs_total += 1
            self._set_status(self.run.status, dialogs_total=self.run.dialogs_total)

    def _finish(self, key: int) -> None:
        dialog, _remote = self.dialogs.pop(key)
        dialog_unskip(dialog=dialog)
        self.run.dialogs_done += 1
        self._set_status(self.run.status, dialogs_done=self.run.dialogs_done, messages_saved=self.run.messages_saved)
        self._beat(force=True)

    def _skip(self, key: int, reason: str) -> None:
        """Telegram refused this dialog: keep what it stored, say why on its row, go on with the others."""
        dialog_skip(dialog=self.dialogs.pop(key)[0], reason=reason)
        self.run.dialogs_skipped += 1
        self._set_status(self.run.status, dialogs_skipped=self.run.dialogs_skipped)
        self._beat(force=True)

    def _next(self, pipeline: Pipeline) -> list[Item]:
        """What the pipeline has read: at least one item (waiting up to a beat), at most BATCH chunks.

        After the first chunk it gathers more for up to GATHER_SECONDS, looking every GATHER_STEP
        (not woken per chunk: each wake-up takes the interpreter lock from the reading thread), and
        stops early when the batch is full or the reading ended. Chunks stored together share one
        transaction: SQLite's and FTS5's work per message drops with bigger transactions.
        """
        items = [pipeline.items.get(timeout=BEAT_SECONDS)]
        if not isinstance(items[-1], Stored):
            return items
        chunks, deadline = 1, time.monotonic() + GATHER_SECONDS
        while True:
            while chunks < BATCH and not isinstance(items[-1], End | Failed):
                try:
                    items.append(pipeline.items.get_nowait())
                except queue.Empty:
                    break
                chunks += isinstance(items[-1], Stored)
            left = deadline - time.monotonic()
            if chunks >= BATCH or isinstance(items[-1], End | Failed) or left <= 0:
                return items
            time.sleep(min(GATHER_STEP, left))

    def _consume(self, pipeline: Pipeline) -> None:
        """Store what the pipeline reads until it ends; _HandOver when someone wants the connection."""
        session, holder = self.run.instance.session, lease_holder_of(self.run)
        while True:
            try:
                items = self._next(pipeline)
            except queue.Empty:  # a flood wait or slow round trips: still alive, still listening
                self._beat()
                if lease_wanted(session=session, holder=holder):
                    raise _HandOver() from None
                continue
            chunks = [item for item in items if isinstance(item, Stored)]
            if chunks:
                self._store(chunks, pipeline)
            for item in items:
                if isinstance(item, End):
                    return
                if isinstance(item, Failed):
                    raise item.error
                if isinstance(item, Flooded):
                    self._flood_began(item.seconds)
                elif isinstance(item, Finished):
                    self._finish(item.key)
                elif isinstance(item, Skipped):
                    self._skip(item.key, item.reason)
            if lease_wanted(session=session, holder=holder):
                raise _HandOver()

    def _plans(self) -> list[Plan]:
        since = None
        if self.run.refresh_edits_days:
            since = timezone.now() - timedelta(days=self.run.refresh_edits_days)
        return [
            Plan(
                key=dialog.pk,
                remote=remote,
                oldest=dialog.oldest_archived_id,
                newest=dialog.newest_archived_id,
                history_complete=dialog.history_complete,
                refresh_since=since,
            )
            for dialog, remote in self.dialogs.values()
        ]

    def all_dialogs(self) -> None:
        while True:
            try:
                remotes = self.connection.dialogs()
                break
            except TelegramUnreachable:
                self._reconnect()
            except FloodWait as error:
                self._flood_began(error.seconds)
                time.sleep(error.seconds)  # Telegram named the wait: this sleep *is* the rate limit
                self._flood_ended()
        listed = [(_dialog_row(self.run.instance, remote), remote) for remote in remotes]
        for dialog, remote in dialogs_to_read(instance=self.run.instance, listed=listed):
            self.dialogs[dialog.pk] = (dialog, remote)
        self.planned = set(self.dialogs)
        # A resumed (interrupted) run walks every dialog again: counting on from its old
        # dialogs_done would end with more dialogs done than there are.
        total = len(self.dialogs)
        self.run.dialogs_total, self.run.dialogs_done, self.run.dialogs_skipped = total, 0, 0
        self._set_status(ArchiveStatus.RUNNING, dialogs_total=total, dialogs_done=0, dialogs_skipped=0)
        while self.dialogs:
            concurrency = settings.ARCHIVE_CONCURRENT_DIALOGS
            pipeline = Pipeline(
                self.connection, self._plans(), concurrency=concurrency, buffered=2 * BATCH + concurrency
            )
            pipeline.start()
            try:
                self._consume(pipeline)
            except _HandOver:
                pipeline.stop()
                self._hand_over()
                continue  # read again from the checkpoints just stored
            except TelegramUnreachable:
                pipeline.stop()
                self._reconnect()
                continue  # the same: what was stored is where each dialog goes on
            finally:
                pipeline.stop()
                self.peak_in_flight = max(self.peak_in_flight, pipeline.peak_in_flight)
            if self.dialogs:
                continue  # old basic groups found in their supergroups' first messages: read them too
            if self._flood_started is not None:
                self._flood_ended()
            logger.info(
                "archive run %s: at most %d dialogs read at once, %d handovers, %d reconnects",
                self.run.pk,
                self.peak_in_flight,
                self.handovers,
                self.reconnects,
            )
            return


def archive_run_execute(*, run_id: int, listener: ProgressListener | None = None) -> ArchiveRun:
    """The worker's job: one whole run. Failures end the run with a message; data already saved stays."""
    run = ArchiveRun.objects.select_related("instance").get(pk=run_id)
    if run.status not in (ArchiveStatus.QUEUED, ArchiveStatus.INTERRUPTED):
        return run
    instance = run.instance
    progress = Progress(run, listener)
    run.status, run.started_at, run.heartbeat_at = ArchiveStatus.RUNNING, timezone.now(), timezone.now()
    run.worker_host, run.worker_pid = socket.gethostname(), os.getpid()
    run.save(update_fields=["status", "started_at", "heartbeat_at", "worker_host", "worker_pid"])
    try:
        with telegram_operation(
            instance=instance, actor=run.started_by, action="archive.run", holder=lease_holder_of(run)
        ) as op:
            files_max = takeout_files_max(run)
            with ArchiveConnection(
                session=op.session, api=op.api, label=op.label, use_takeout=run.use_takeout, takeout_files_max=files_max
            ) as connection:
                _Runner(run, connection, progress).all_dialogs()
                archive_media_download(run=run, connection=connection, holder=op.holder, listener=listener)
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
        detail={"run": run.pk, "messages": run.messages_saved, "dialogs_skipped": run.dialogs_skipped},
    )
    progress.publish()
    return run
