"""The health threads of a worker process: the schedule, the alert sender and the queued checks.

`manage.py worker` runs them beside django_tasks_db's worker loop, which runs one task at a time:
an archive run can keep that loop busy for hours, so the checks and the alerts do not queue behind
it but run on threads of their own in the same process (no extra process, no cron). The checks
asked for from the list are tasks on a queue of their own (HEALTH_QUEUE), run by a third thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from django.db import close_old_connections, connections
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker as TaskLoop

from sessions_app.services.health.delivery import alerts_deliver_due, alerts_next_due
from sessions_app.services.health.queued import HEALTH_QUEUE
from sessions_app.services.health.schedule import (
    SCHEDULE_LEASE_SECONDS,
    health_next_due,
    health_plan,
    health_run_due,
    schedule_hold,
    schedule_release,
)

logger = logging.getLogger(__name__)

SCHEDULE_STOP_SECONDS = 25.0  # past the database's lock timeout (SQLite's is 20 s in settings)

IDLE_SECONDS = 1.0  # the longest a thread sleeps while it holds nothing due
STANDBY_SECONDS = 5.0  # how often a worker without the schedule looks whether it is free
# What db_worker's loop says each time it starts and finds nothing (django_tasks_db's own messages).
_LOOP_CHATTER = ("Starting worker ", "No more tasks to run ")


class _QueuedLoopAtDebug(logging.Filter):
    """The queued-checks loop starts and ends every second: its start and stop lines are debug, not info.

    db_worker's configure_logging sets the django_tasks_db logger's level from --verbosity, so the
    level cannot be set in LOGGING; a filter on that logger survives it. Other loops' lines (the
    task loop's one "Starting worker") and every other message keep their level.
    """

    def __init__(self, worker_id: str) -> None:
        super().__init__()
        self.worker_id = worker_id

    def filter(self, record: logging.LogRecord) -> bool:
        if not (
            isinstance(record.msg, str)
            and record.msg.startswith(_LOOP_CHATTER)
            and isinstance(record.args, tuple)
            and record.args[:1] == (self.worker_id,)
        ):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _seconds_until(when: datetime | None, cap: float) -> float:
    if when is None:
        return cap
    return max(0.0, min(cap, (when - timezone.now()).total_seconds()))


class HealthWorker:
    """Start, step and stop the two threads; the steps are also what tests drive one at a time."""

    def __init__(self, *, holder: str = "", host: str = "") -> None:
        self.holder = holder or uuid.uuid4().hex
        self.host = host or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        # db_worker's own loop, on HEALTH_QUEUE only; in batch mode each run ends when no check is ready.
        self.queued = TaskLoop(
            queue_names=[HEALTH_QUEUE],
            interval=IDLE_SECONDS,
            batch=True,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=f"{self.holder}-{HEALTH_QUEUE}"[:64],
            excluded_queue_names=[],
        )
        self.quiet = _QueuedLoopAtDebug(self.queued.worker_id)

    def holds_schedule(self) -> bool:
        return not self.stopping.is_set() and schedule_hold(holder=self.holder, host=self.host)

    def schedule_step(self) -> float:
        """One turn of the schedule; returns how long to sleep before the next."""
        if not self.holds_schedule():
            return STANDBY_SECONDS
        health_plan()
        if health_run_due(keep_going=self.holds_schedule):
            return 0.0
        return _seconds_until(health_next_due(), IDLE_SECONDS)

    def sender_step(self) -> float:
        if alerts_deliver_due():
            return 0.0
        return _seconds_until(alerts_next_due(), IDLE_SECONDS)

    def queued_step(self) -> float:
        """Run the queued checks, one after another, until none is ready."""
        chatty = logging.getLogger("django_tasks_db")
        chatty.addFilter(self.quiet)
        try:
            self.queued.run()
        finally:
            chatty.removeFilter(self.quiet)
        return IDLE_SECONDS

    def _loop(self, step: Callable[[], float], on_exit: Callable[[], None] | None = None) -> None:
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    wait = step()
                except Exception:  # noqa: BLE001 - a failing turn (DB down, say) is logged and retried
                    logger.exception("health worker step failed; retrying in %s s", STANDBY_SECONDS)
                    wait = STANDBY_SECONDS
                self.stopping.wait(wait)
            if on_exit is not None:
                on_exit()
        finally:
            connections.close_all()

    def _release(self) -> None:
        """The schedule thread's last write: after it, nothing of this worker renews the schedule.

        stop() releases too, but a renewal already on its way (waiting for the database's lock
        on a busy machine) could land after that release and leave the row held for a minute.
        """
        try:
            schedule_release(holder=self.holder)
        except Exception:  # noqa: BLE001 - the row expires on its own; stop() tries again
            logger.exception("could not hand the health schedule on; it expires in %s s", SCHEDULE_LEASE_SECONDS)

    def start(self) -> None:
        steps = (
            ("health-schedule", self.schedule_step),
            ("health-alerts", self.sender_step),
            ("health-queued", self.queued_step),
        )
        for name, step in steps:
            on_exit = self._release if step == self.schedule_step else None
            thread = threading.Thread(target=self._loop, args=(step, on_exit), name=name, daemon=True)
            thread.start()
            self.threads.append(thread)
        logger.info("health schedule, alert sender and queued checks started (holder %s on %s)", self.holder, self.host)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads (a check in flight may finish first) and hand the schedule on."""
        self.stopping.set()
        self.queued.running = False
        for thread in self.threads:
            thread.join(timeout)
        if self.threads and self.threads[0].is_alive():
            # The schedule thread may be waiting for the database's lock (up to its timeout) to renew
            # the row: its own exit releases the row after that renewal, so give it that long.
            self.threads[0].join(SCHEDULE_STOP_SECONDS)
        schedule_release(holder=self.holder)  # on the caller's connection, which stays the caller's to close
