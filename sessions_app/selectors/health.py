"""Read queries for the health parts of the pages: the attention count, the last checks, deliveries, the schedule.

The list's health columns and filters are in selectors.instances (one query with the list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import AlertDelivery, Health, HealthCheck, HealthSchedule, InstanceHealth
from sessions_app.selectors.instances import instances_visible_to

LAST_CHECKS_SHOWN = 10


def attention_count(user: User) -> int:
    """How many instances the user may see need attention: found by the health rows' state index."""
    problems = InstanceHealth.objects.filter(state__in=Health.problems())
    if not user.is_superuser:  # a superuser sees every instance: no need to read the instances
        problems = problems.filter(instance__in=instances_visible_to(user).values("pk"))
    return problems.count()


def instance_health(instance: ConnectorInstance) -> InstanceHealth | None:
    return InstanceHealth.objects.filter(instance=instance).first()


def last_checks(instance: ConnectorInstance, limit: int = LAST_CHECKS_SHOWN) -> QuerySet[HealthCheck]:
    return HealthCheck.objects.filter(instance=instance).select_related("actor").order_by("-id")[:limit]


def alert_deliveries_visible_to(user: User, *, session: str = "") -> QuerySet[AlertDelivery]:
    """Deliveries of the instances the user has a role on (team admins: all, also of deleted instances)."""
    deliveries = AlertDelivery.objects.order_by("-created_at", "-id")
    if not user.is_superuser:
        deliveries = deliveries.filter(instance__memberships__user=user)
    if session:
        deliveries = deliveries.filter(session=session)
    return deliveries


@dataclass(frozen=True)
class ScheduleState:
    running: bool
    host: str
    since: datetime | None
    beat_at: datetime | None


def schedule_state() -> ScheduleState:
    """Whether a worker runs the health schedule right now (its row is held and not expired)."""
    row = HealthSchedule.objects.filter(name=HealthSchedule.NAME).first()
    if row is None:
        return ScheduleState(running=False, host="", since=None, beat_at=None)
    running = bool(row.holder) and row.expires_at > timezone.now()
    return ScheduleState(running=running, host=row.host, since=row.started_at, beat_at=row.beat_at)
