"""`manage.py worker`: django_tasks_db's db_worker, plus the session health schedule and alert sender.

scripts/run starts this instead of db_worker. The task loop (archive runs) keeps the main thread;
the health schedule, the alert sender and the checks queued from the list (their own task queue)
run on threads beside it, so a long archive run never holds a check or an alert up. Every option of db_worker works here too.
"""

from __future__ import annotations

import os
import signal
import sys
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand

from sessions_app.services.health.worker import HealthWorker


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


class Command(DbWorkerCommand):
    help = (
        "Run the Django Tasks database worker, with the session health schedule and the alert sender "
        "on threads of the same process."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--no-health",
            action="store_false",
            dest="health",
            help="Run the task loop only: no health schedule and no alert sender in this process.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        health = options.pop("health", True)
        # With --reload, the first process only watches files and restarts a child that does the work.
        watcher = options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true"
        worker = HealthWorker() if health and not watcher else None
        if worker is not None:
            # Until db_worker installs its own handlers, a stop signal still unwinds through `finally`,
            # so a worker stopped right after it took the schedule hands the schedule on.
            for stop_signal in (signal.SIGINT, signal.SIGTERM):
                signal.signal(stop_signal, _exit)
            worker.start()
        try:
            super().handle(*args, **options)
        finally:
            if worker is not None:
                worker.stop()
