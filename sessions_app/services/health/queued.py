"""A check queued on the worker (bulk "Check now"): the same check as "Check now", for the person who asked.

The bulk action queues one task per row (sessions_app.tasks.check_instance_task) instead of checking
a page of instances inside the request; the worker runs this. Its result shows where every check's
does (the list's health column, the instance page), so the task ends quietly when there is nothing
left to do: the instance was deleted meanwhile, or another check of it is running right now.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import Health
from sessions_app.services.health.check import CheckRunning, health_check

HEALTH_QUEUE = "health"  # a queue of Django Tasks (settings.TASKS) that the worker's health thread runs
GONE = "instance gone"
RUNNING = "another check was running"


def health_check_queued_run(*, instance_id: int, actor_id: int | None) -> str:
    """Run one queued check; what it found (a Health value), or why it did not run."""
    instance = ConnectorInstance.objects.filter(pk=instance_id).first()
    if instance is None:
        return GONE
    # The person who asked, if they still exist; the check is theirs in the audit and its record.
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    try:
        check = health_check(instance=instance, actor=actor, trigger="web")
    except CheckRunning:
        return RUNNING
    except ConnectorInstance.DoesNotExist:
        return GONE  # deleted while it was checked
    return str(Health(check.result).value)
