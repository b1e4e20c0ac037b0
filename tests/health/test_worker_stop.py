"""A stopping worker hands the schedule on even when its last renewal lands after stop() began."""

from __future__ import annotations

import threading

import pytest

from sessions_app.models_health import HealthSchedule
from sessions_app.services.health.schedule import SCHEDULE, schedule_hold
from sessions_app.services.health.worker import HealthWorker

pytestmark = pytest.mark.django_db(transaction=True)


def holder() -> str:
    return HealthSchedule.objects.get(name=SCHEDULE).holder


def test_a_renewal_on_its_way_at_stop_is_released_by_the_schedule_thread_itself():
    worker = HealthWorker(holder="worker-a")
    assert schedule_hold(holder="worker-a")
    stopping_seen = threading.Event()

    def late_renewal() -> float:
        # A renewal that passed the stopping check before stop() and waits (as for the database's
        # lock) until stop() has released the row: it takes the row again after that release.
        worker.stopping.wait(5)
        stopping_seen.wait(5)
        schedule_hold(holder="worker-a")
        return 0.0

    thread = threading.Thread(target=worker._loop, args=(late_renewal, worker._release))
    thread.start()
    worker.stopping.set()
    HealthSchedule.objects.filter(holder="worker-a").update(holder="")  # what stop()'s release does
    stopping_seen.set()
    thread.join(10)

    assert not thread.is_alive()
    assert holder() == ""  # the thread's own exit handed it on after its late renewal


def test_stop_hands_the_schedule_on():
    worker = HealthWorker(holder="worker-b")
    worker.threads = []
    assert schedule_hold(holder="worker-b")
    worker.stop()
    assert holder() == ""
