"""The worker's queued-checks loop starts and stops every second: those two lines are debug, not info."""

from __future__ import annotations

import logging

import pytest

from sessions_app.services.health.worker import HealthWorker

LOOP_LINES = ("Starting worker", "No more tasks to run")


def _loop_lines(caplog) -> list[tuple[str, int]]:
    return [
        (record.getMessage(), record.levelno)
        for record in caplog.records
        if record.name == "django_tasks_db" and record.getMessage().startswith(LOOP_LINES)
    ]


@pytest.fixture
def tasks_logger():
    chatty = logging.getLogger("django_tasks_db")
    level = chatty.level
    yield chatty
    chatty.setLevel(level)


@pytest.mark.django_db(transaction=True)  # the loop closes its connection between turns
def test_an_idle_queued_loop_prints_nothing_at_info(caplog, tasks_logger):
    tasks_logger.setLevel(logging.INFO)  # what db_worker's --verbosity 1 (the default) sets
    caplog.set_level(logging.INFO, logger="django_tasks_db")
    worker = HealthWorker()
    for _ in range(3):
        worker.queued_step()
    assert _loop_lines(caplog) == []


@pytest.mark.django_db(transaction=True)  # the loop closes its connection between turns
def test_the_loop_lines_still_show_at_debug(caplog, tasks_logger):
    tasks_logger.setLevel(logging.DEBUG)  # --verbosity 2
    caplog.set_level(logging.DEBUG, logger="django_tasks_db")
    HealthWorker().queued_step()
    found = _loop_lines(caplog)
    assert [line.split(" worker_id=")[0] for line, _ in found] == ["Starting worker", "No more tasks to run for"]
    assert {level for _, level in found} == {logging.DEBUG}


@pytest.mark.django_db
def test_another_loops_start_line_keeps_its_level(caplog, tasks_logger):
    """Only the queued-checks loop is quieted: the task loop's one "Starting worker" stays info."""
    from django_tasks_db.management.commands.db_worker import logger

    tasks_logger.setLevel(logging.INFO)
    caplog.set_level(logging.INFO, logger="django_tasks_db")
    worker = HealthWorker()
    tasks_logger.addFilter(worker.quiet)
    try:
        logger.info("Starting worker worker_id=%s queues=%s", "the-task-loop", "default")
    finally:
        tasks_logger.removeFilter(worker.quiet)
    assert _loop_lines(caplog) == [("Starting worker worker_id=the-task-loop queues=default", logging.INFO)]
