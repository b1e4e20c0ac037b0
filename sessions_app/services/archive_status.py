"""The one write of an archive run's status, shared by the message and the media phases."""

from __future__ import annotations

from django.utils import timezone

from sessions_app.models import ArchiveRun


def archive_run_set_status(*, run: ArchiveRun, status: str, **fields: object) -> None:
    """Set the run's status and the given fields, and beat its heartbeat, in one UPDATE."""
    run.status = status
    for name, value in fields.items():
        setattr(run, name, value)
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["status", "heartbeat_at", *fields])
