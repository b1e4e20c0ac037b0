"""Archive media: the phase of a run that downloads the files of the messages it archived.

Runs after the messages, on the run's own connection and lease (the dashboard's key). Each file
is stored once per instance, keyed by Telegram's file id (ArchivedMedia); every message carrying
it points to that row. A row becomes "done" only after the store holds the whole file, so a run
killed at any instant resumes with the files not done yet and never serves a half file. Flood
waits are slept and shown like the message phase's; a waiting interactive action gets the
connection between two files, a waiting health check its answer over it; a dropped connection is
reconnected (services.archive_live) and the file goes on from its last whole part.

Kinds a run can choose (MediaKind) and the message media kinds each covers: KIND_GROUPS.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass
from datetime import timedelta
from itertools import groupby
from typing import IO, NamedTuple, TypeVar

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, Message
from sessions_app.models_media import ArchivedMedia, ArchiveRunMedia, MediaKind, MediaStatus
from sessions_app.selectors.archive import archive_progress
from sessions_app.services.archive_live import ProgressListener, archive_reconnect, archive_serve, progress_publish
from sessions_app.services.archive_status import archive_run_set_status
from sessions_app.services.errors import ActionRefused, InstanceBusy
from sessions_app.services.lease import SERVING_PURPOSE, lease_acquire, lease_hand_over, lease_renew, lease_wanted
from sessions_app.storage import StoreError, get_media_storage, media_key
from sessions_app.telegram.archive import ArchiveConnection, RemoteDialog
from sessions_app.telegram.errors import FloodWait, TelegramError, TelegramUnreachable
from sessions_app.telegram.media import FileReferenceExpired, RemoteMedia
from sessions_app.telegram.refusals import DialogRefused

logger = logging.getLogger(__name__)

KIND_GROUPS: dict[str, tuple[str, ...]] = {
    MediaKind.PHOTO: ("photo",),
    MediaKind.DOCUMENT: ("document", "audio", "gif", "sticker"),
    MediaKind.VOICE: ("voice",),
    MediaKind.VIDEO: ("video", "video_note"),
}
BATCH = 100  # message ids per messages.getMessages
BEAT_SECONDS = 1.0
SPOOL_BYTES = 1024 * 1024  # a download stays in memory up to this size, then goes to a temp file
T = TypeVar("T")


@dataclass(frozen=True)
class MediaChoice:
    """A run's media choice: which kinds (none: no media) and the size cap (None: ARCHIVE_MEDIA_MAX_BYTES)."""

    kinds: tuple[str, ...] = ()
    max_bytes: int | None = None


NO_MEDIA = MediaChoice()


class MediaStoreFailed(ActionRefused):
    """The media store refused a file: the run ends with the store's sentence; files stored so far stay."""


def archive_media_plan(*, run: ArchiveRun, kinds: Iterable[str], max_bytes: int | None) -> ArchiveRunMedia | None:
    """Record what the run downloads: the chosen kinds and the size cap (ARCHIVE_MEDIA_MAX_BYTES by default)."""
    chosen = set(kinds)
    unknown = chosen - set(MediaKind.values)
    if unknown:
        raise ValueError(f"unknown media kinds {sorted(unknown)}")
    if not chosen:
        return None
    cap = settings.ARCHIVE_MEDIA_MAX_BYTES if max_bytes is None else max_bytes
    if cap < 0:
        raise ValueError("the media size cap cannot be negative")
    ordered = ",".join(kind for kind in MediaKind.values if kind in chosen)
    return ArchiveRunMedia.objects.create(run=run, kinds=ordered, max_bytes=cap)


def archive_media_download(
    *, run: ArchiveRun, connection: ArchiveConnection, holder: str, listener: ProgressListener | None = None
) -> None:
    """The media phase of a run (nothing when the run chose no media). Raises like the message phase."""
    plan = ArchiveRunMedia.objects.filter(run=run).first()
    if plan is None:
        return
    run.media_plan = plan  # archive_progress reads the counters from here, not from the DB
    _MediaPhase(run, plan, connection, holder, listener).execute()


class _Download(NamedTuple):
    """A file on its way: the spool it is written to and the download in flight on the connection's loop."""

    sink: IO[bytes]
    future: Future[TelegramError | None]
    generation: int  # the connection it started on (a failure of an older one needs no new reconnect)


def _wanted(plan: ArchiveRunMedia) -> QuerySet[Message]:
    """The run's messages whose file of a chosen kind is not stored yet (failed ones are tried again)."""
    kinds = [media_kind for kind in plan.kind_list for media_kind in KIND_GROUPS[kind]]
    return Message.objects.filter(instance_id=plan.run.instance_id, media_kind__in=kinds).filter(
        Q(archived_media__isnull=True) | Q(archived_media__status__in=[MediaStatus.PENDING, MediaStatus.FAILED])
    )


class _MediaPhase:
    def __init__(
        self,
        run: ArchiveRun,
        plan: ArchiveRunMedia,
        connection: ArchiveConnection,
        holder: str,
        listener: ProgressListener | None,
    ) -> None:
        self.run, self.plan, self.connection, self.holder, self.listener = run, plan, connection, holder, listener
        self.session = run.instance.session
        self.kinds = set(plan.kind_list)
        self.storage = get_media_storage()
        self.handled: set[int] = set()  # ArchivedMedia ids this execution has dealt with
        self._last_beat = 0.0

    def execute(self) -> None:
        wanted = _wanted(self.plan)
        fits = Q(media_size__lte=self.plan.max_bytes) | Q(media_size__isnull=True)
        self.plan.files_too_big = wanted.exclude(fits).count()
        todo = list(wanted.filter(fits).order_by("peer_id", "message_id").values_list("peer_id", "pk", "message_id"))
        self.plan.files_total = self.plan.files_done + len(todo)
        self._beat(force=True)
        if not todo:
            return
        remotes = {remote.peer_id: remote for remote in self._call(self.connection.dialogs)}
        for peer_id, rows in groupby(todo, key=lambda row: row[0]):
            messages = [(pk, message_id) for _, pk, message_id in rows]
            remote = remotes.get(peer_id)
            if remote is None:  # the chat is gone from the account: its files cannot be read any more
                self.plan.files_total -= len(messages)
                continue
            try:
                for start in range(0, len(messages), BATCH):
                    self._batch(remote, messages[start : start + BATCH])
            except DialogRefused:  # removed from it, or private now: like a chat that is gone
                self.plan.files_total -= len([m for m in messages if m[0] not in self.handled])
                continue
        self._beat(force=True)

    def _batch(self, remote: RemoteDialog, messages: list[tuple[int, int]]) -> None:
        found = self._call(lambda: self.connection.media(remote, [message_id for _, message_id in messages]))
        wanted: list[tuple[int, RemoteMedia]] = []
        for pk, message_id in messages:
            item = found.get(message_id)
            if item is None or item.kind not in self.kinds or item.size > self.plan.max_bytes:
                self.plan.files_total -= 1  # deleted, or edited into something else since it was archived
            else:
                wanted.append((pk, item))
        rows = self._link(wanted)
        todo: list[tuple[ArchivedMedia, RemoteMedia]] = []
        for _, item in wanted:
            media = rows[item.file_id]
            if media.status == MediaStatus.DONE or media.pk in self.handled:
                self.plan.files_total -= 1  # the same file in another message: stored once
                continue
            self.handled.add(media.pk)
            todo.append((media, item))
        # One download ahead: the next file comes from Telegram while this one goes to the store.
        ahead: _Download | None = None
        for index, (media, item) in enumerate(todo):
            current = ahead or self._start(item)
            ahead = self._start(todo[index + 1][1]) if index + 1 < len(todo) else None
            self._finish(media, item, remote, current)
            if self._beat() and lease_wanted(session=self.session, holder=self.holder):
                if ahead is not None:
                    ahead.future.result()  # its outcome (even an error) is dealt with in its turn
                self._hand_over()

    @transaction.atomic
    def _link(self, wanted: list[tuple[int, RemoteMedia]]) -> dict[int, ArchivedMedia]:
        """The ArchivedMedia row of each file (created when new), with each message pointing to its file."""
        instance_id = self.run.instance_id
        items = {item.file_id: item for _, item in wanted}
        ArchivedMedia.objects.bulk_create(
            [
                ArchivedMedia(
                    instance_id=instance_id,
                    file_id=item.file_id,
                    kind=item.kind,
                    size=item.size,
                    mime=item.mime,
                    file_name=item.file_name,
                    store_key=media_key(
                        session=self.session,
                        kind=item.kind,
                        file_id=item.file_id,
                        file_name=item.file_name,
                        mime=item.mime,
                    ),
                )
                for item in items.values()
            ],
            ignore_conflicts=True,  # files already known (stored, or left pending by an earlier run)
        )
        rows = {m.file_id: m for m in ArchivedMedia.objects.filter(instance_id=instance_id, file_id__in=list(items))}
        for pk, item in wanted:
            Message.objects.filter(pk=pk).update(archived_media=rows[item.file_id])
        return rows

    def _start(self, item: RemoteMedia) -> _Download:
        sink = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _finish
        return _Download(sink, self.connection.start_download(item, sink), self.connection.generation)

    def _resume(self, item: RemoteMedia, sink: IO[bytes]) -> TelegramError | None:
        try:
            self.connection.download(item, sink, sink.tell())  # on from the last whole part
        except TelegramError as error:
            return error
        return None

    def _finish(self, media: ArchivedMedia, item: RemoteMedia, remote: RemoteDialog, download: _Download) -> None:
        """Wait for the file (sleeping flood waits, refreshing an expired reference once), then store it."""
        refreshed, generation = False, download.generation
        with download.sink as sink:
            try:
                error = download.future.result()
            except CancelledError:  # its connection was closed under it (a reconnect): go on from its last part
                error = TelegramUnreachable()
            while error is not None:
                if isinstance(error, FloodWait):
                    self._sleep_flood(error)
                elif isinstance(error, TelegramUnreachable):
                    if generation == self.connection.generation:  # not reconnected since it started
                        self._reconnect()
                elif isinstance(error, FileReferenceExpired) and not refreshed:
                    fresh = self._call(functools.partial(self.connection.media, remote, [item.message_id]))
                    if item.message_id not in fresh:
                        self._failed(media, error.message)
                        return
                    item, refreshed = fresh[item.message_id], True
                elif isinstance(error, FileReferenceExpired) or type(error) is TelegramError:
                    self._failed(media, error.message)  # Telegram refused this one file
                    return
                else:
                    raise error  # the session: the run's problem
                generation = self.connection.generation
                error = self._resume(item, sink)
            size = sink.tell()
            sink.seek(0)
            try:
                self.storage.save(media.store_key, UploadedFile(sink, media.store_key, media.mime, size))
            except StoreError as store_error:
                raise MediaStoreFailed(
                    f"The messages are archived, but storing their media failed: {store_error.message}"
                ) from store_error
        ArchivedMedia.objects.filter(pk=media.pk).update(
            status=MediaStatus.DONE, size=size, error="", downloaded_at=timezone.now()
        )
        self.plan.files_done += 1
        self.plan.bytes_done += size

    def _failed(self, media: ArchivedMedia, message: str) -> None:
        ArchivedMedia.objects.filter(pk=media.pk).update(status=MediaStatus.FAILED, error=message[:1000])
        self.plan.files_failed += 1
        logger.info("archive run %s could not download file %s: %s", self.run.pk, media.file_id, message)

    def _call(self, request: Callable[[], T]) -> T:
        """One request to Telegram, repeated after each flood wait and after a reconnect."""
        while True:
            try:
                return request()
            except FloodWait as error:
                self._sleep_flood(error)
            except TelegramUnreachable:
                self._reconnect()

    def _reconnect(self) -> None:
        def waiting(seconds: int) -> None:
            self._save_counters()
            lease_renew(session=self.session, holder=self.holder)
            self._publish(reconnecting_in=seconds)

        archive_reconnect(connection=self.connection, waiting=waiting)

    def _save_counters(self) -> None:
        self.plan.save(update_fields=["files_total", "files_done", "files_failed", "files_too_big", "bytes_done"])

    def _publish(self, reconnecting_in: int = 0) -> None:
        progress = archive_progress(self.run)
        progress_publish(
            session=self.session, progress=progress, listener=self.listener, reconnecting_in=reconnecting_in
        )

    def _beat(self, *, force: bool = False) -> bool:
        """Heartbeat, counters, lease and progress: at most once a second; True when it beat."""
        now = time.monotonic()
        if not force and now - self._last_beat < BEAT_SECONDS:
            return False
        self._last_beat = now
        self._save_counters()
        self.run.heartbeat_at = timezone.now()
        ArchiveRun.objects.filter(pk=self.run.pk).update(heartbeat_at=self.run.heartbeat_at)
        lease_renew(session=self.session, holder=self.holder)
        self._publish()
        archive_serve(session=self.session, holder=self.holder, connection=self.connection)
        return True

    def _set_status(self, status: str, **fields: object) -> None:
        archive_run_set_status(run=self.run, status=status, **fields)

    def _sleep_flood(self, error: FloodWait) -> None:
        until = timezone.now() + timedelta(seconds=error.seconds)
        self._save_counters()
        self._set_status(ArchiveStatus.FLOOD_WAIT, flood_wait_until=until, flood_waits=self.run.flood_waits + 1)
        self._publish()
        lease_renew(session=self.session, holder=self.holder, seconds=error.seconds + settings.TELEGRAM_LEASE_SECONDS)
        # Telegram said exactly how long to wait: this sleep is the rate limit, not a guess.
        time.sleep(error.seconds)
        self._set_status(ArchiveStatus.RUNNING, flood_wait_until=None)

    def _hand_over(self) -> None:
        """Let a waiting interactive action have the connection between two files, then carry on."""
        self._save_counters()
        self.connection.disconnect()
        lease_hand_over(session=self.session, holder=self.holder)
        while True:
            try:
                lease_acquire(
                    session=self.session,
                    holder=self.holder,
                    purpose=SERVING_PURPOSE,
                    wait=BEAT_SECONDS,
                    ask_handover=False,
                )
                break
            except InstanceBusy:
                self._beat(force=True)  # still alive: not a stale run
        logger.info("archive run %s handed its connection over between two media files", self.run.pk)
        self.connection.reconnect()
