"""Read queries for the archive pages: dialogs, runs and their progress, keyset pages of messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog, Message

PAGE_SIZE = 50
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
ACTIVE_STATUSES = (ArchiveStatus.QUEUED, ArchiveStatus.RUNNING, ArchiveStatus.FLOOD_WAIT)


def dialogs_of(*, instance: ConnectorInstance) -> QuerySet[Dialog]:
    return Dialog.objects.filter(instance=instance).order_by(
        F("last_message_date").desc(nulls_last=True), "title", "peer_id"
    )


def dialog_of(*, instance: ConnectorInstance, peer_id: int) -> Dialog | None:
    return Dialog.objects.filter(instance=instance, peer_id=peer_id).first()


def archive_runs_recent(*, instance: ConnectorInstance, limit: int = 10) -> list[ArchiveRun]:
    return list(
        ArchiveRun.objects.filter(instance=instance)
        .select_related("started_by", "current_dialog")
        .order_by("-created_at", "-id")[:limit]
    )


def archive_run_current(*, instance: ConnectorInstance) -> ArchiveRun | None:
    return (
        ArchiveRun.objects.filter(instance=instance, status__in=ACTIVE_STATUSES)
        .select_related("current_dialog")
        .order_by("-created_at", "-id")
        .first()
    )


def flood_wait_left(until: datetime | None, now: datetime | None = None) -> int:
    """Whole seconds still to wait (rounded up), 0 when there is no wait or it is over."""
    if until is None:
        return 0
    seconds = (until - (now or timezone.now())).total_seconds()
    return max(0, int(-(-seconds // 1)))


def archive_run_progress(run: ArchiveRun, now: datetime | None = None) -> dict[str, Any]:
    """A run as the DB knows it, in the shape of the pipeline's "archive" events.

    The rate here is the run's average since it started (the pipeline's events carry a recent rate).
    """
    now = now or timezone.now()
    rate = 0.0
    if run.started_at is not None:
        elapsed = ((run.finished_at or now) - run.started_at).total_seconds()
        if elapsed > 0:
            rate = round(run.messages_saved / elapsed, 1)
    flood = flood_wait_left(run.flood_wait_until, now) if run.is_active else 0
    return progress_event(run, run.current_dialog, rate=rate, flood_wait_seconds=flood)


def progress_event(run: ArchiveRun, dialog: Dialog | None, *, rate: float, flood_wait_seconds: int) -> dict[str, Any]:
    """The "archive" event: one shape for the live pipeline and for what the DB knows."""
    return {
        "run_id": run.pk,
        "status": run.status,
        "messages_saved": run.messages_saved,
        "dialogs_done": run.dialogs_done,
        "dialogs_total": run.dialogs_total,
        "rate": rate,
        "flood_wait_seconds": flood_wait_seconds,
        "dialog": None
        if dialog is None
        else {
            "peer_id": dialog.peer_id,
            "title": dialog.title,
            "archived": dialog.message_count,
            "total": dialog.total_on_server,
        },
    }


def archive_snapshot(*, instance: ConnectorInstance) -> dict[str, Any]:
    """What a freshly connected websocket needs: the instance status and the active run, if any."""
    run = archive_run_current(instance=instance)
    return {
        "status": instance.status,
        "label": instance.get_status_display(),
        "run": archive_run_progress(run) if run is not None else None,
    }


@dataclass(frozen=True)
class MessagePage:
    """Up to PAGE_SIZE messages, newest first, and the cursors for the neighbouring pages."""

    messages: list[Message]
    has_older: bool
    has_newer: bool
    older_cursor: int | None  # for ?before=
    newer_cursor: int | None  # for ?after=


def message_page(
    *, dialog: Dialog, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> MessagePage:
    """Keyset pagination on (dialog, message_id): each page is one indexed range scan, never OFFSET.

    before=X shows the `size` messages just below X; after=X the `size` just above X (still shown
    newest first); neither shows the newest page.
    """
    base = Message.objects.filter(dialog=dialog)
    if after is not None:
        rows = list(base.filter(message_id__gt=after).order_by("message_id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        has_older = base.filter(message_id__lte=after).exists()
    else:
        scope = base if before is None else base.filter(message_id__lt=before)
        rows = list(scope.order_by("-message_id")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None and base.filter(message_id__gte=before).exists()
    if rows:
        older_cursor, newer_cursor = rows[-1].message_id, rows[0].message_id
    else:
        # An empty page past either end still links back to the messages on the other side.
        older_cursor = min(after + 1, BIGINT_MAX) if after is not None else None
        newer_cursor = max(before - 1, BIGINT_MIN) if before is not None else None
    return MessagePage(
        messages=rows,
        has_older=has_older,
        has_newer=has_newer,
        older_cursor=older_cursor if has_older else None,
        newer_cursor=newer_cursor if has_newer else None,
    )
