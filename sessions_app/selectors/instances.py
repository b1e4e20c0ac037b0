"""Read queries for the instance pages: the list a user may see (searched, filtered, sorted), pending logins,
recent audit, and what the session object holds before a delete."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Case, F, OrderBy, Q, QuerySet, Value, When
from django.db.models.functions import Concat, Lower

from sessions_app.models import AuditEvent, ConnectorInstance, InstanceStatus, PendingLogin
from sessions_app.models_health import Health


def instances_visible_to(user: User | AnonymousUser) -> QuerySet[ConnectorInstance]:
    # The list never shows the session or the API hash: don't fetch (and decrypt) them.
    queryset = ConnectorInstance.objects.defer("session_string", "api_hash", "dashboard_session")
    if isinstance(user, AnonymousUser):
        return queryset.none()
    if not user.is_superuser:
        queryset = queryset.filter(memberships__user=user)
    return queryset.order_by("session")


def pending_login_for(instance: ConnectorInstance) -> PendingLogin | None:
    return PendingLogin.objects.filter(instance=instance).first()


def recent_audit(instance: ConnectorInstance, limit: int = 20) -> QuerySet[AuditEvent]:
    return instance.audit_events.select_related("actor").order_by("-created_at", "-id")[:limit]


def store_location() -> str:
    """Where session objects live ("s3://bucket" or a local directory), for pages. No I/O."""
    from sessions_app.storage import get_session_storage

    return get_session_storage().location


# --- The list: search, filter, sort ------------------------------------------------------------------

ATTENTION = "attention"  # the health filter for every problem state (the old ?attention=1)

# ?status= takes an instance status or a health finding (their values never collide).
STATUS_FILTERS: tuple[tuple[str, str], ...] = tuple(InstanceStatus.choices)
HEALTH_FILTERS: tuple[tuple[str, str], ...] = (
    (ATTENTION, "needs attention"),
    *((value, label) for value, label in Health.choices if value != Health.BUSY),
)

SORTS: dict[str, str] = {
    "name": "name, A to Z",
    "-name": "name, Z to A",
    "status": "status",
    "-status": "status, reversed",
    "checked": "last checked, oldest first",
    "-checked": "last checked, newest first",
}

_STATUS_RANK = Case(
    *(When(status=value, then=Value(rank)) for rank, (value, _) in enumerate(InstanceStatus.choices)),
    default=Value(len(InstanceStatus.choices)),
)


def _label(field: str, choices: list[tuple[str, str]]) -> Case:
    return Case(*(When(**{field: value}, then=Value(label)) for value, label in choices), default=Value(""))


def instances_for_list(instances: QuerySet[ConnectorInstance]) -> QuerySet[ConnectorInstance]:
    """The list's columns in one query: the health row's fields and both labels as plain values.

    A page renders 100 rows; reading labels and health from annotations instead of
    get_status_display() and a related object per row halves its rendering time.
    """
    return instances.annotate(
        status_label=_label("status", InstanceStatus.choices),
        health_state=F("health__state"),
        health_label=_label("health__state", Health.choices),
        health_reason=F("health__reason"),
        health_failing_since=F("health__failing_since"),
        health_checked_at=F("health__checked_at"),
    )


_FIELD_SEPARATOR = "\x1f"  # the unit separator: never part of a name, dropped from the query


def instances_matching(instances: QuerySet[ConnectorInstance], query: str) -> QuerySet[ConnectorInstance]:
    """Case-insensitive substring of the SESSION, the display name or the account's name or @username.

    Only plain columns: the phone is encrypted and never searched. (SQLite folds case for ASCII
    letters only; PostgreSQL for all.)
    """
    query = query.strip().replace(_FIELD_SEPARATOR, "")
    if not query:
        return instances
    username = query.removeprefix("@")
    # One case fold and one LIKE over the three fields joined, instead of one per field: the list
    # scans every visible instance, and on PostgreSQL UPPER() per column was most of that scan.
    # The separator keeps a match from spanning two fields.
    joined = Concat("session", Value(_FIELD_SEPARATOR), "name", Value(_FIELD_SEPARATOR), "telegram_name")
    return instances.alias(list_search_text=joined).filter(
        Q(list_search_text__icontains=query) | Q(telegram_username__icontains=username)
    )


def instances_in_state(instances: QuerySet[ConnectorInstance], state: str) -> QuerySet[ConnectorInstance]:
    """Only the instances with that status, or whose health is that finding ("attention": any problem)."""
    if not state:
        return instances
    if state == ATTENTION:
        return instances.filter(health__state__in=Health.problems())
    if state == Health.UNKNOWN:
        return instances.filter(Q(health__isnull=True) | Q(health__state=Health.UNKNOWN))
    if state in Health.values:
        return instances.filter(health__state=state)
    return instances.filter(status=state)


def instances_sorted(instances: QuerySet[ConnectorInstance], sort: str) -> QuerySet[ConnectorInstance]:
    """Sorted as asked ("" = by SESSION); the SESSION breaks ties, so pages never overlap.

    "Last checked" is the instance's health row's checked_at (the last check that ran); the
    instances never checked come last both ways.
    """
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    order: OrderBy
    if key == "name":
        order = OrderBy(Lower("name"), descending=descending)
    elif key == "status":
        order = OrderBy(_STATUS_RANK, descending=descending)
    elif key == "checked":
        order = OrderBy(F("health__checked_at"), descending=descending, nulls_last=True)
    else:
        return instances.order_by("session")
    return instances.order_by(order, "session")


# --- Before a delete: does the session object (or this dashboard) still hold a session? -------------------


class Holder(Enum):
    NOTHING = "nothing"  # empty or missing object, no connector key kept here
    OBJECT = "object"  # the object holds a session: a connector loading it logs in
    DASHBOARD = "dashboard"  # the object is empty, but the connector's key is kept here (not saved yet)
    UNKNOWN = "unknown"  # the store could not be read


@dataclass(frozen=True)
class StoredSession:
    holder: Holder
    object_size: int | None  # None: no object (or unknown)
    error: str = ""  # the store's sentence when it could not be read

    @property
    def live(self) -> bool:
        return self.holder in (Holder.OBJECT, Holder.DASHBOARD)


def stored_session(instance: ConnectorInstance) -> StoredSession:
    """What holds the instance's session right now: one HEAD on the store, the content is never read."""
    from sessions_app.storage import StoreError, get_session_storage

    try:
        info = get_session_storage().head(instance.session)
    except StoreError as error:
        return StoredSession(Holder.UNKNOWN, None, error.message)
    size = info.size if info is not None else None
    if size:
        return StoredSession(Holder.OBJECT, size)
    if instance.has_session:
        return StoredSession(Holder.DASHBOARD, size)
    return StoredSession(Holder.NOTHING, size)
