"""What /metrics shows: the fleet's numbers read from the database at scrape time.

Nothing here counts in process memory, so every web and worker process answers a scrape with the
same numbers, and a restart loses none. A scrape costs six queries whatever the number of
instances: one row per instance (values_list, no model objects, no secrets decrypted) and five
aggregates. No session string, phone number or other secret is read.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from sessions_app.models import ArchiveRun, ArchiveStatus, ConnectorInstance, Dialog, InstanceStatus
from sessions_app.models_health import AlertDelivery, Health, HealthCheck
from sessions_app.selectors.health import ScheduleState, schedule_state

# Checks are counted over this window: the kept rows (HEALTH_CHECKS_KEPT per instance) always cover it
# unless an instance is checked more often than that within it (the schedule retries a minute apart).
CHECKS_WINDOW_SECONDS = 900

# The states an instance's health can settle in (a check may also end BUSY; an instance never is).
INSTANCE_HEALTH = tuple(value for value in Health.values if value != Health.BUSY)
CHECK_RESULTS = tuple(value for value in Health.values if value != Health.UNKNOWN)


@dataclass(frozen=True)
class InstanceRow:
    session: str
    status: str
    health: str  # Health.UNKNOWN for an instance no check has settled yet (no health row)
    checked_at: datetime | None


@dataclass(frozen=True)
class ArchiveRuns:
    by_status: dict[str, int]
    flood_waits: int  # flood waits the runs have slept, all runs together
    flood_wait_until: datetime | None  # the latest end of a wait a run is sleeping now


@dataclass(frozen=True)
class FleetSnapshot:
    now: datetime
    instances: list[InstanceRow]
    login_flood_until: list[datetime]  # instances Telegram told to wait before sending another code
    checks_recent: dict[str, int]
    deliveries: dict[tuple[str, str, str], int]  # (event, channel, status) -> deliveries
    archive: ArchiveRuns
    messages_stored: int
    schedule: ScheduleState
    status_counts: Counter[str] = field(init=False)
    health_counts: Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status_counts", Counter(row.status for row in self.instances))
        object.__setattr__(self, "health_counts", Counter(row.health for row in self.instances))


def _instances(now: datetime) -> tuple[list[InstanceRow], list[datetime]]:
    # Unordered: walking the SESSION index costs the database more than sorting the rows here.
    rows = ConnectorInstance.objects.order_by().values_list(
        "session", "status", "health__state", "health__checked_at", "flood_wait_until"
    )
    instances, flood = [], []
    for session, status, state, checked_at, flood_until in rows.iterator(chunk_size=2000):
        instances.append(InstanceRow(session, status, state or Health.UNKNOWN, checked_at))
        if flood_until is not None and flood_until > now:
            flood.append(flood_until)
    instances.sort(key=lambda row: row.session)
    return instances, flood


def _checks_since(cutoff: datetime) -> dict[str, int]:
    """Checks started since `cutoff`, by result, without reading every kept check (started_at has no index).

    A check's row is written when it ends, so ids follow time: every row above the newest one started
    before the cutoff started after it. Walking the primary key down to that row reads the window's
    rows only (a check still running at the cutoff and written after a later one can be left out).
    """
    boundary = HealthCheck.objects.filter(started_at__lt=cutoff).order_by("-id").values("id")[:1]
    rows = (
        HealthCheck.objects.filter(id__gt=Coalesce(Subquery(boundary), Value(0)))
        .order_by()
        .values_list("result")
        .annotate(n=Count("id"))
    )
    return dict(rows)


def _archive_runs() -> ArchiveRuns:
    rows = (
        ArchiveRun.objects.order_by()
        .values("status")
        .annotate(
            runs=Count("id"),
            flood_waits=Sum("flood_waits"),
            waiting_until=Max("flood_wait_until", filter=Q(status=ArchiveStatus.FLOOD_WAIT)),
        )
    )
    by_status: dict[str, int] = {}
    flood_waits, until = 0, None
    for row in rows:
        by_status[row["status"]] = row["runs"]
        flood_waits += row["flood_waits"] or 0
        if row["waiting_until"] is not None:
            until = row["waiting_until"] if until is None else max(until, row["waiting_until"])
    return ArchiveRuns(by_status=by_status, flood_waits=flood_waits, flood_wait_until=until)


def fleet_snapshot() -> FleetSnapshot:
    """Everything /metrics shows, read now (six queries)."""
    now = timezone.now()
    instances, login_flood = _instances(now)
    deliveries = AlertDelivery.objects.order_by().values_list("event", "channel", "status").annotate(n=Count("id"))
    # Each dialog counts the messages archived in it as they go in: a sum over dialogs, not a
    # COUNT(*) over every message (bench/pages.py measures both).
    stored = Dialog.objects.aggregate(total=Sum("message_count"))["total"] or 0
    return FleetSnapshot(
        now=now,
        instances=instances,
        login_flood_until=login_flood,
        checks_recent=_checks_since(now - timedelta(seconds=CHECKS_WINDOW_SECONDS)),
        deliveries={(event, channel, status): n for event, channel, status, n in deliveries},
        archive=_archive_runs(),
        messages_stored=stored,
        schedule=schedule_state(),
    )


def _seconds(later: datetime, earlier: datetime) -> float:
    return max((later - earlier).total_seconds(), 0.0)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _by_label(
    name: str, documentation: str, label: str, counts: dict[str, int], values: tuple[str, ...]
) -> GaugeMetricFamily:
    """One sample per known value (0 included, so a series never vanishes), then any value found beyond them."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in (*values, *sorted(set(counts) - set(values))):
        family.add_metric([value], counts.get(value, 0))
    return family


class FleetCollector:
    """A prometheus_client collector: each collect() reads a fresh snapshot and yields its metric families."""

    def __init__(self, snapshot: FleetSnapshot | None = None) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot or fleet_snapshot()
        yield from _instance_families(snap)
        yield from _check_and_alert_families(snap)
        yield from _archive_families(snap)
        yield from _schedule_families(snap)


def _instance_families(snap: FleetSnapshot) -> Iterator[Metric]:
    yield _by_label(
        "teleconnect_instances", "Instances by status.", "status", snap.status_counts, tuple(InstanceStatus.values)
    )
    yield _by_label(
        "teleconnect_instances_by_health",
        "Instances by the health their checks settled ('unknown': not checked yet).",
        "result",
        snap.health_counts,
        INSTANCE_HEALTH,
    )
    yield _gauge(
        "teleconnect_instances_needing_attention",
        "Instances whose health is a problem the team is alerted about (the list's 'needs attention').",
        sum(snap.health_counts[state] for state in Health.problems()),
    )
    health = GaugeMetricFamily(
        "teleconnect_instance_health", "1 for each instance, labelled with its health.", labels=["session", "result"]
    )
    age = GaugeMetricFamily(
        "teleconnect_instance_last_check_age_seconds",
        "Seconds since the instance's last completed check (absent until its first one).",
        labels=["session"],
    )
    for row in snap.instances:
        health.add_metric([row.session, row.health], 1)
        if row.checked_at is not None:
            age.add_metric([row.session], _seconds(snap.now, row.checked_at))
    yield health
    yield age


def _check_and_alert_families(snap: FleetSnapshot) -> Iterator[Metric]:
    yield _by_label(
        "teleconnect_health_checks_recent",
        f"Checks started in the last {CHECKS_WINDOW_SECONDS} seconds, by result (schedule, command and "
        "'Check now' alike; read from the kept checks, the last HEALTH_CHECKS_KEPT of each instance).",
        "result",
        snap.checks_recent,
        CHECK_RESULTS,
    )
    deliveries = GaugeMetricFamily(
        "teleconnect_alert_deliveries",
        "Alert deliveries by event, channel and outcome (pending, sending, delivered, failed), all kept so far.",
        labels=["event", "channel", "status"],
    )
    for (event, channel, status), count in sorted(snap.deliveries.items()):
        deliveries.add_metric([event, channel, status], count)
    yield deliveries


def _archive_families(snap: FleetSnapshot) -> Iterator[Metric]:
    yield _by_label(
        "teleconnect_archive_runs",
        "Archive runs by status.",
        "status",
        snap.archive.by_status,
        tuple(ArchiveStatus.values),
    )
    yield _gauge(
        "teleconnect_archive_messages_stored", "Messages held in the archive, all instances.", snap.messages_stored
    )
    yield CounterMetricFamily(
        "teleconnect_archive_flood_waits",
        "Flood waits archive runs have slept (FLOOD_WAIT answers from Telegram); drops when an instance is deleted.",
        value=snap.archive.flood_waits,
    )
    waiting = GaugeMetricFamily(
        "teleconnect_flood_wait_remaining_seconds",
        "The longest wait Telegram still imposes: on sending a login code (login) or on a running archive (archive).",
        labels=["operation"],
    )
    ends = {"login": max(snap.login_flood_until, default=None), "archive": snap.archive.flood_wait_until}
    for operation, until in ends.items():
        waiting.add_metric([operation], _seconds(until, snap.now) if until is not None else 0.0)
    yield waiting
    yield _gauge(
        "teleconnect_login_flood_waiting_instances",
        "Instances Telegram told to wait before another login code is sent.",
        len(snap.login_flood_until),
    )


def _schedule_families(snap: FleetSnapshot) -> Iterator[Metric]:
    yield _gauge(
        "teleconnect_health_schedule_running",
        "1 while a worker holds the health schedule (its lease not expired), else 0.",
        1 if snap.schedule.running else 0,
    )
    beat = snap.schedule.beat_at
    yield _gauge(
        "teleconnect_health_schedule_heartbeat_age_seconds",
        "Seconds since the schedule's holder last beat (+Inf when no worker ever held it).",
        _seconds(snap.now, beat) if beat is not None else math.inf,
    )
