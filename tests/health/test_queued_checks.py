"""Checks queued from the list run on the worker's health thread, on their own queue, never behind an archive run."""

from __future__ import annotations

import pytest
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from sessions_app.models_health import HealthCheck
from sessions_app.services.health.queued import HEALTH_QUEUE
from sessions_app.services.health.worker import HealthWorker
from sessions_app.tasks import archive_instance, check_instance_task
from tests.conftest import log_in

# The worker's loops run here in the test's own thread and close their database connection when
# done, as a worker thread must; on PostgreSQL that is the test's transaction. Like the other
# tests that run worker loops, these run in the SQLite pass only (marked slow).
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_health_thread_runs_a_queued_check_for_the_person_who_asked(telegram, instance, operator):
    log_in(instance)
    queued = check_instance_task.enqueue(instance.pk, operator.pk)
    assert queued.task.queue_name == HEALTH_QUEUE
    HealthWorker().queued_step()
    row = DBTaskResult.objects.get(pk=queued.id)
    assert row.status == TaskResultStatus.SUCCESSFUL and row.return_value == "healthy"
    check = HealthCheck.objects.get(instance=instance)
    assert check.actor == operator and check.trigger == "web"


def test_the_health_thread_leaves_archive_runs_to_the_task_loop(telegram, instance):
    waiting = archive_instance.enqueue(123456)
    HealthWorker().queued_step()
    assert DBTaskResult.objects.get(pk=waiting.id).status == TaskResultStatus.READY


def test_a_queued_check_of_a_deleted_instance_ends_quietly_on_the_worker(telegram, instance, operator):
    queued = check_instance_task.enqueue(instance.pk, operator.pk)
    instance.delete()
    HealthWorker().queued_step()
    row = DBTaskResult.objects.get(pk=queued.id)
    assert row.status == TaskResultStatus.SUCCESSFUL and row.return_value == "instance gone"
    assert not HealthCheck.objects.exists()
