"""Background work on Django Tasks (django-tasks + the database backend; `manage.py worker`).

Archive runs go to the "default" queue, which `manage.py worker`'s task loop runs one at a time (a
run may take hours). Checks go to their own queue, HEALTH_QUEUE, which the worker's health thread
runs (services.health.worker), so a check asked for never waits behind an archive run.
"""

from __future__ import annotations

from django_tasks import task

from sessions_app.services.archive import archive_run_execute
from sessions_app.services.health.queued import HEALTH_QUEUE, health_check_queued_run


@task()
def archive_instance(run_id: int) -> int:
    return archive_run_execute(run_id=run_id).messages_saved


@task(queue_name=HEALTH_QUEUE)
def check_instance_task(instance_id: int, actor_id: int | None) -> str:
    return health_check_queued_run(instance_id=instance_id, actor_id=actor_id)
