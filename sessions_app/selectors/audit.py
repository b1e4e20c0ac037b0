"""Reading the audit trail: what a user may see, filtered, one keyset page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance, Membership

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilters:
    who: str = ""
    action: str = ""
    outcome: str = ""
    since: date | None = None
    until: date | None = None  # inclusive: the whole day


def audit_events_visible(*, user: User, instance: ConnectorInstance | None = None) -> QuerySet[AuditEvent]:
    """Events on instances the user has a role on, plus their own sign-ins; superusers see everything."""
    events = AuditEvent.objects.all()
    if instance is not None:
        return events.filter(instance_id=instance.pk)
    if user.is_superuser:
        return events
    mine = Membership.objects.filter(user=user).values("instance_id")
    return events.filter(Q(instance_id__in=mine) | Q(instance_id__isnull=True, actor_id=user.pk))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_events_filtered(events: QuerySet[AuditEvent], filters: AuditFilters) -> QuerySet[AuditEvent]:
    if filters.who:
        events = events.filter(actor_name__iexact=filters.who)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.since:
        events = events.filter(created_at__gte=_day_start(filters.since))
    if filters.until:
        events = events.filter(created_at__lt=_day_start(filters.until + timedelta(days=1)))
    return events


def audit_page(
    events: QuerySet[AuditEvent], *, before: int | None, size: int = PAGE_SIZE
) -> tuple[list[AuditEvent], int | None]:
    """Newest first, keyset by id: (events, the `before` of the next page or None on the last)."""
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events.order_by("-id")[: size + 1])
    if len(rows) > size:
        return rows[:size], rows[size - 1].id
    return rows, None


def audit_choices(events: QuerySet[AuditEvent]) -> tuple[list[str], list[str]]:
    """The actions and outcomes present, for the filter menus."""
    actions = sorted(set(events.values_list("action", flat=True).distinct()))
    outcomes = sorted(set(events.values_list("outcome", flat=True).distinct()))
    return actions, outcomes


def audit_events_in_chain_order() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
