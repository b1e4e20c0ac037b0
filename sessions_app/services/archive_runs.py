"""Starting archive runs: the one set of start rules, for the web (queued on the worker) and `manage.py archive`.

services.archive executes a run and knows nothing of the task queue; this module queues it, so
the task module and the runner import each other in one direction only.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance
from sessions_app.services.archive import ProgressListener, archive_run_execute, lease_holder_of
from sessions_app.services.archive_media import NO_MEDIA, MediaChoice, archive_media_plan
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ArchiveRefused
from sessions_app.services.lease import lease_release
from sessions_app.services.operations import Actor
from sessions_app.tasks import archive_instance
from sessions_app.telegram.errors import format_seconds, seconds_left

__all__ = ["ArchiveRefused", "MediaChoice", "archive_run_foreground", "archive_run_start"]


def _process_gone(run: ArchiveRun) -> bool:
    """The run's worker process is known dead: it ran on this host and its pid no longer exists."""
    if run.worker_pid is None or run.worker_host != socket.gethostname() or run.worker_pid == os.getpid():
        return False
    try:
        os.kill(run.worker_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # a process of another user has that pid now: not ours, but alive
    return False


def archive_mark_stale_runs(*, instance: ConnectorInstance) -> int:
    """Runs whose worker died become "interrupted" and release their lease.

    At once when the worker's process is gone from this host (killed, crashed); otherwise once
    it wrote no heartbeat for ARCHIVE_STALE_SECONDS (a worker on another machine).
    """
    cutoff = timezone.now() - timedelta(seconds=settings.ARCHIVE_STALE_SECONDS)
    count = 0
    for run in ArchiveRun.objects.filter(instance=instance, status__in=ArchiveStatus.active()):
        stale = run.heartbeat_at is not None and run.heartbeat_at < cutoff
        if not (stale or _process_gone(run)):
            continue
        lease_release(session=instance.session, holder=lease_holder_of(run))
        run.status, run.finished_at = ArchiveStatus.INTERRUPTED, timezone.now()
        run.error = (
            "The worker stopped during this run (killed or restarted). The next run resumes from the last checkpoint."
        )
        run.save(update_fields=["status", "finished_at", "error"])
        count += 1
    return count


def _busy_refusal(run: ArchiveRun) -> ArchiveRefused:
    if run.status == ArchiveStatus.QUEUED:
        return ArchiveRefused(
            "An archive run is already queued for this instance: the worker starts it shortly. "
            "Its progress shows on the archive page."
        )
    beat = run.heartbeat_at or run.created_at
    takeover = seconds_left(beat + timedelta(seconds=settings.ARCHIVE_STALE_SECONDS))
    return ArchiveRefused(
        f"An archive run is in progress for this instance ({run.messages_saved} messages so far). "
        f"If its worker died without a word, it is taken over in {format_seconds(max(takeover, 1))} "
        "(as soon as its heartbeat is that old); a worker known dead on this machine is taken over at once."
    )


def _archive_run_claim(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    use_takeout: bool,
    refresh_edits_days: int,
    foreground: bool,
    media: MediaChoice = NO_MEDIA,
) -> ArchiveRun:
    """The start rules: a working session, the dashboard's own key, no other run queued or running.

    The instance row is locked while the rule is checked and the run created, so two clicks (or a
    click and the command) at the same moment start one run.
    """
    if not instance.session_string:
        raise ArchiveRefused("This instance has no working session: log it in (or Verify its stored session) first.")
    if not instance.dashboard_session:
        raise ArchiveRefused(
            "The archive runs on the dashboard's own authorization, which this instance does not have yet. "
            "Use “Mint the dashboard's authorization” on the instance page first."
        )
    archive_mark_stale_runs(instance=instance)
    actor_user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        if ConnectorInstance.objects.select_for_update().filter(pk=instance.pk).first() is None:
            raise ArchiveRefused("This instance was deleted a moment ago: there is nothing to archive.")
        active = ArchiveRun.objects.filter(instance=instance, status__in=ArchiveStatus.active()).first()
        if active is not None:
            raise _busy_refusal(active)
        run = ArchiveRun.objects.create(
            instance=instance,
            started_by=actor_user,
            use_takeout=use_takeout,
            refresh_edits_days=refresh_edits_days,
        )
        detail: dict[str, object] = {"run": run.pk, "takeout": use_takeout}
        if archive_media_plan(run=run, kinds=media.kinds, max_bytes=media.max_bytes) is not None:
            detail["media"] = list(media.kinds)
        if foreground:
            detail["foreground"] = True
        audit_record(instance=instance, actor=actor, action="archive.start", detail=detail)
    return run


def archive_run_start(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    use_takeout: bool = False,
    refresh_edits_days: int = 0,
    media: MediaChoice = NO_MEDIA,
) -> ArchiveRun:
    """Queue a run on the Django Tasks worker; refused while another run of the instance is active."""
    run = _archive_run_claim(
        instance=instance,
        actor=actor,
        use_takeout=use_takeout,
        refresh_edits_days=refresh_edits_days,
        foreground=False,
        media=media,
    )
    result = archive_instance.enqueue(run.pk)
    run.task_id = str(result.id)
    ArchiveRun.objects.filter(pk=run.pk).update(task_id=run.task_id)
    return run


def archive_run_foreground(
    *,
    instance: ConnectorInstance,
    actor: Actor = None,
    use_takeout: bool = False,
    refresh_edits_days: int = 0,
    media: MediaChoice = NO_MEDIA,
    listener: ProgressListener | None = None,
) -> ArchiveRun:
    """`manage.py archive`: the same rules and the same run, executed here instead of on the worker."""
    run = _archive_run_claim(
        instance=instance,
        actor=actor,
        use_takeout=use_takeout,
        refresh_edits_days=refresh_edits_days,
        foreground=True,
        media=media,
    )
    return archive_run_execute(run_id=run.pk, listener=listener)
