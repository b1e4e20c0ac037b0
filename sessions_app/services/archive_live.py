"""What an archive run tells while it runs, and how it keeps going when the network or a check interferes.

Shared by both phases of a run (services.archive for the messages, services.archive_media for the
files): the progress they publish (with the reconnect countdown), the reconnect after a dropped
connection (ARCHIVE_RECONNECT_SECONDS), and the answers to health checks that wait for the run's
connection (services.connector).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from django.conf import settings

from sessions_app.models import ArchiveRun
from sessions_app.models_media import ArchiveRunMedia
from sessions_app.selectors.archive import ArchiveProgress, archive_progress
from sessions_app.services.connector import connector_requests_serve
from sessions_app.services.events import event_broadcast
from sessions_app.telegram.archive_link import ArchiveLink

logger = logging.getLogger(__name__)

ProgressListener = Callable[[ArchiveProgress], None]


def progress_publish(
    *, session: str, progress: ArchiveProgress, listener: ProgressListener | None, reconnecting_in: int = 0
) -> None:
    """Tell the instance's group and the run's listener where the run is (with the reconnect countdown)."""
    progress = replace(progress, reconnecting_in=reconnecting_in)
    event_broadcast(session=session, kind="archive", data=progress.as_event())
    if listener is not None:
        listener(progress)


class Progress:
    """Keeps the run row and the websocket group informed, without a write per message."""

    def __init__(self, run: ArchiveRun, listener: ProgressListener | None = None) -> None:
        self.run = run
        self.listener = listener
        self.started = time.monotonic()
        self.waited = 0.0
        self.reconnecting_in = 0  # seconds until the next attempt, while the connection is down

    def rate(self) -> float:
        busy = time.monotonic() - self.started - self.waited
        return round(self.run.messages_saved / busy, 1) if busy > 0 else 0.0

    def publish(self) -> None:
        """Tell the group and the listener where the run is (the run carries its dialog and flood wait)."""
        progress_publish(
            session=self.run.instance.session,
            progress=archive_progress(self.run, rate=self.rate()),
            listener=self.listener,
            reconnecting_in=self.reconnecting_in,
        )


def archive_reconnect(*, connection: ArchiveLink, waiting: Callable[[int], object]) -> float:
    """Bring the run's dropped connection back within ARCHIVE_RECONNECT_SECONDS (ConnectionLost past it).

    ``waiting(n)`` shows "reconnecting in n s" and renews the lease before each pause; returns the
    seconds it took (the run does not count them as busy time).
    """
    started = time.monotonic()
    logger.info("archive connection dropped: reconnecting for up to %s s", settings.ARCHIVE_RECONNECT_SECONDS)
    connection.reconnect_within(settings.ARCHIVE_RECONNECT_SECONDS, waiting)
    logger.info("archive connection back after %.1f s", time.monotonic() - started)
    return time.monotonic() - started


def archive_serve(*, session: str, holder: str, connection: ArchiveLink) -> None:
    """Answer the health checks that wait for the run's connection (between chunks or files)."""
    connector_requests_serve(
        session=session,
        holder=holder,
        account=connection.account_view,  # the whole view a check reads, over the run's connection
    )


def takeout_files_max(run: ArchiveRun) -> int:
    """The largest file the run's takeout must allow (0: the run downloads no files)."""
    plan = ArchiveRunMedia.objects.filter(run=run).first()
    return plan.max_bytes if plan is not None else 0
