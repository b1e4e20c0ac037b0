"""Bulk actions on the rows selected in the instance list: "Check now" and "Archive now".

Each row is decided on its own, by the same access rule and the same service as the action on
one instance (services.health.check.health_check, services.archive_runs.archive_run_start),
which audit what they do. A row the person's role does not allow, or that the service refuses,
gets its own sentence and its own "refused" audit event; a SESSION they cannot see reads as
not found, whether it exists or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User

from sessions_app.models import ConnectorInstance, Role
from sessions_app.models_health import Health
from sessions_app.selectors.access import NoSuchInstance, RoleTooLow, instance_access
from sessions_app.services.archive_runs import archive_run_start
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.health.check import health_check

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


def _run(*, instance: ConnectorInstance, actor: User, action: BulkAction) -> RowResult:
    if action is BulkAction.CHECK:
        check = health_check(instance=instance, actor=actor, trigger="web")
        found = Health(check.result)
        return RowResult(instance.session, found is not Health.BUSY, f"{instance.session}: checked: {found.label}.")
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
