"""Bulk actions on the rows selected in the instance list: "Check now" and "Archive now".

Each row is decided on its own, by the same access rule as the action on one instance. A row the
person's role does not allow, or that is refused, gets its own sentence and its own "refused"
audit event; a SESSION they cannot see reads as not found, whether it exists or not.

Both queue work for the worker instead of doing it inside the request (a page of checks against
a real Telegram takes tens of seconds): "Archive now" starts a run (services.archive_runs), "Check
now" queues one check task per row, which runs the check of the one-instance "Check now"
(services.health.queued). A row with a check already queued or running is not queued twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from sessions_app.models import ConnectorInstance, Role
from sessions_app.models_health import InstanceHealth
from sessions_app.selectors.access import NoSuchInstance, RoleTooLow, instance_access
from sessions_app.services.archive_runs import archive_run_start
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.health.check import CheckRunning
from sessions_app.tasks import check_instance_task

BULK_MAX = 100  # one page of the list


class BulkAction(StrEnum):
    CHECK = "check"
    ARCHIVE = "archive"


# The roles of the one-instance actions: "Check now" (views.health_checks.instance_check) and
# starting an archive run (views.archive.archive, POST) both need an operator.
ROLE_NEEDED: dict[BulkAction, Role] = {BulkAction.CHECK: Role.OPERATOR, BulkAction.ARCHIVE: Role.OPERATOR}
_AUDIT_ACTION = {BulkAction.CHECK: "health.check", BulkAction.ARCHIVE: "archive.start"}
_NOT_DONE = {BulkAction.CHECK: "not checked", BulkAction.ARCHIVE: "no archive run started"}


class BulkRefused(ActionRefused):
    """The whole request is refused (nothing selected, too many rows); nothing was done."""


class CheckQueued(ActionRefused):
    default_message = "A check of this instance is already queued; its result shows in the list when it finishes."


@dataclass(frozen=True)
class RowResult:
    session: str
    done: bool
    sentence: str


def _selected(sessions: list[str]) -> list[str]:
    unique = list(dict.fromkeys(s.strip() for s in sessions if s.strip()))
    if not unique:
        raise BulkRefused("Select at least one instance (tick its box in the list), then choose the action.")
    if len(unique) > BULK_MAX:
        raise BulkRefused(
            f"Select at most {BULK_MAX} instances at a time (you selected {len(unique)}). Nothing was done."
        )
    return unique


def _refused(*, instance: ConnectorInstance, actor: User, action: BulkAction, refusal: str, sentence: str) -> RowResult:
    audit_record(
        instance=instance,
        actor=actor,
        action=_AUDIT_ACTION[action],
        outcome="refused",
        detail={"bulk": True, "refusal": refusal},
    )
    return RowResult(instance.session, False, f"{instance.session}: {_NOT_DONE[action]}: {sentence}")


def _not_found(session: str) -> RowResult:
    shown = session[:64]
    return RowResult(shown, False, f"{shown}: no such instance, or you have no role on it.")


def _check_pending(instance: ConnectorInstance) -> bool:
    """A check task of the instance is waiting for the worker, or running on a worker that is alive."""
    # A worker killed mid-task leaves its row "running": after the longest a check may take, it is not one.
    dead_before = timezone.now() - timedelta(
        seconds=settings.TELEGRAM_LEASE_SECONDS + settings.TELEGRAM_LEASE_WAIT_SECONDS
    )
    tasks = DBTaskResult.objects.filter(task_path=check_instance_task.module_path, args_kwargs__args__0=instance.pk)
    return (
        tasks.filter(status=TaskResultStatus.READY).exists()
        or tasks.filter(status=TaskResultStatus.RUNNING, started_at__gte=dead_before).exists()
    )


def _check_queue(*, instance: ConnectorInstance, actor: User) -> RowResult | None:
    """Queue one check of the instance for the worker; None when the instance was deleted a moment ago."""
    with transaction.atomic():
        # The instance's row lock: two bulk clicks at the same moment queue one check, not two.
        if ConnectorInstance.objects.select_for_update().filter(pk=instance.pk).first() is None:
            return None
        if _check_pending(instance):
            raise CheckQueued()
        # Running right now (the schedule, or someone's "Check now"): its result is the one asked for.
        if InstanceHealth.objects.filter(instance=instance, claimed_until__gt=timezone.now()).exists():
            raise CheckRunning()
        queued = check_instance_task.enqueue(instance.pk, actor.pk)
        audit_record(
            instance=instance, actor=actor, action="health.queue", detail={"bulk": True, "task": str(queued.id)}
        )
    return RowResult(
        instance.session, True, f"{instance.session}: check queued; results show in the list as they finish."
    )


def _run(*, instance: ConnectorInstance, actor: User, action: BulkAction) -> RowResult:
    if action is BulkAction.CHECK:
        return _check_queue(instance=instance, actor=actor) or _not_found(instance.session)
    run = archive_run_start(instance=instance, actor=actor)
    return RowResult(instance.session, True, f"{instance.session}: archive run {run.pk} queued.")


def instances_bulk(*, actor: User, action: BulkAction, sessions: list[str]) -> list[RowResult]:
    """Do `action` on each selected SESSION the actor's role allows; one result per row, in order."""
    results = []
    for session in _selected(sessions):
        try:
            instance, _ = instance_access(user=actor, session=session, needed=ROLE_NEEDED[action])
        except NoSuchInstance:
            results.append(_not_found(session))
            continue
        except RoleTooLow as low:
            seen = ConnectorInstance.objects.filter(session=session).first()  # None: deleted a moment ago
            results.append(
                _not_found(session)
                if seen is None
                else _refused(instance=seen, actor=actor, action=action, refusal="RoleTooLow", sentence=str(low))
            )
            continue
        try:
            results.append(_run(instance=instance, actor=actor, action=action))
        except ActionRefused as refusal:
            results.append(
                _refused(
                    instance=instance,
                    actor=actor,
                    action=action,
                    refusal=type(refusal).__name__,
                    sentence=refusal.message,
                )
            )
    return results
