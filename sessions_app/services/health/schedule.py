"""The one health schedule: who runs it (a DB singleton), when each instance is due, one pass.

Any number of workers may run the schedule's thread; the one whose holder id is in the
HealthSchedule row runs it, renewing the row between checks, and the others stand by and take it
over once the row expires (a killed worker) or is released (a stopped one). So there is exactly
one schedule however often, and on however many machines, workers are (re)started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections
from django.db.models import Case, F, Min, Q, Value, When
from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import HealthCheck, HealthSchedule, InstanceHealth
from sessions_app.services.health.check import CheckRunning, health_check
from sessions_app.services.health.timing import interval_seconds, next_slot
from sessions_app.services.operations import Actor

logger = logging.getLogger(__name__)

SCHEDULE = HealthSchedule.NAME
# The holder renews the row at least this often (between checks, every loop); a row this old is a dead holder's.
SCHEDULE_LEASE_SECONDS = 60


def schedule_hold(*, holder: str, host: str = "", now: datetime | None = None) -> bool:
    """Take or renew the schedule for `holder`; False while another live holder has it."""
    now = now or timezone.now()
    expires = now + timedelta(seconds=SCHEDULE_LEASE_SECONDS)
    if not HealthSchedule.objects.filter(name=SCHEDULE).exists():
        try:
            HealthSchedule.objects.create(name=SCHEDULE, expires_at=now)
        except IntegrityError:
            pass  # another worker created it a moment ago
    # One conditional UPDATE: of two workers racing for an expired row, one matches and the other does not.
    taken = (
        HealthSchedule.objects.filter(name=SCHEDULE)
        .filter(Q(holder=holder) | Q(holder="") | Q(expires_at__lt=now))
        .update(
            started_at=Case(When(holder=holder, then=F("started_at")), default=Value(now)),
            holder=holder,
            host=host,
            beat_at=now,
            expires_at=expires,
        )
    )
    return taken == 1


def schedule_release(*, holder: str) -> None:
    """A stopping holder hands the schedule on at once instead of letting the row expire."""
    HealthSchedule.objects.filter(name=SCHEDULE, holder=holder).update(expires_at=timezone.now(), holder="")


def health_plan(*, now: datetime | None = None) -> int:
    """Every instance gets its health row, due at its slot; a row due after a shortened interval is moved in."""
    now = now or timezone.now()
    interval = interval_seconds()
    missing = ConnectorInstance.objects.filter(health__isnull=True).values_list("pk", "session")
    created = InstanceHealth.objects.bulk_create(
        [InstanceHealth(instance_id=pk, next_check_at=next_slot(session, now)) for pk, session in missing],
        ignore_conflicts=True,
    )
    late = InstanceHealth.objects.filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__gt=now + timedelta(seconds=interval))
    ).values_list("pk", "instance__session")
    for pk, session in late:
        InstanceHealth.objects.filter(pk=pk).update(next_check_at=next_slot(session, now))
    return len(created)


def health_next_due() -> datetime | None:
    due: datetime | None = InstanceHealth.objects.aggregate(due=Min("next_check_at"))["due"]
    return due


def _check_scheduled(instance_id: int, keep_going: Callable[[], bool]) -> bool:
    """One scheduled check; False when it did not run (schedule lost, instance gone or being checked)."""
    if not keep_going():
        return False
    instance = ConnectorInstance.objects.filter(pk=instance_id).first()
    if instance is None:
        return False
    try:
        health_check(instance=instance, trigger="schedule")
    except CheckRunning:
        return False
    except ConnectorInstance.DoesNotExist:
        return False  # deleted while it was checked (a delete holds the instance's lease until it is gone)
    except Exception:  # noqa: BLE001 - one instance's unexpected failure must not stop the schedule
        logger.exception("health check of %s failed unexpectedly", instance.session)
        return False
    return True


def _check_on_pool_thread(instance_id: int, keep_going: Callable[[], bool]) -> bool:
    try:
        return _check_scheduled(instance_id, keep_going)
    finally:
        connections.close_all()  # this thread's own connection: the pool is gone after the batch


def health_run_due(
    *,
    now: datetime | None = None,
    limit: int | None = None,
    keep_going: Callable[[], bool] = lambda: True,
    concurrency: int | None = None,
) -> int:
    """Check the instances that are due, most overdue first, HEALTH_CHECK_CONCURRENCY at a time.

    At most `limit` (default: four per concurrent check) in one call; returns how many checks ran.
    `keep_going` is asked before each check: the schedule renews its hold there and stops on shutdown.
    """
    now = now or timezone.now()
    concurrency = concurrency or settings.HEALTH_CHECK_CONCURRENCY
    due = (
        InstanceHealth.objects.filter(next_check_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_check_at")
        .values_list("instance_id", flat=True)
    )
    batch = list(due[: limit or 4 * concurrency])
    if concurrency == 1 or len(batch) <= 1:
        return sum(_check_scheduled(instance_id, keep_going) for instance_id in batch)
    # Each check mostly waits for Telegram and the store: a few at once multiply what one worker watches.
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="health-check") as pool:
        return sum(pool.map(lambda instance_id: _check_on_pool_thread(instance_id, keep_going), batch))


def health_pass(
    *, sessions: list[str] | None = None, actor: Actor = None, trigger: str = "command"
) -> Iterator[tuple[ConnectorInstance, HealthCheck | None, str]]:
    """One check of each instance (all, or the named ones) now: (instance, check or None, why not)."""
    instances = ConnectorInstance.objects.order_by("session")
    if sessions:
        instances = instances.filter(session__in=sessions)
    for instance in instances:
        try:
            yield instance, health_check(instance=instance, actor=actor, trigger=trigger), ""
        except CheckRunning as running:
            yield instance, None, running.message
