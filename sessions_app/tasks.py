"""Background work on Django Tasks (django-tasks + the database backend; `manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task

from sessions_app.services.archive import archive_run_execute


@task()
def archive_instance(run_id: int) -> int:
    return archive_run_execute(run_id=run_id).messages_saved
