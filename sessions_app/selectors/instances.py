"""Read queries for the instance pages: the list a user may see (searched, filtered, sorted), pending logins,
recent audit, and what the session object holds before a delete."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.paginator import Page, Paginator
from django.db.models import Case, F, OrderBy, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Lower
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.timesince import timesince

from sessions_app.crypto import SecretUnreadable, decrypt
from sessions_app.models import (
    LIST_SEPARATOR,
    AuditEvent,
    ConnectorInstance,
    InstanceStatus,
    PendingLogin,
    mask_phone,
)
from sessions_app.models_health import Health


def instances_visible_to(user: User | AnonymousUser) -> QuerySet[ConnectorInstance]:
    # The list never shows the session or the API hash: don't fetch (and decrypt) them.
    queryset = ConnectorInstance.objects.defer("session_string", "api_hash", "dashboard_session", "list_search_text")
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


# The columns a row of the list shows: the wide ones (secrets, store metadata) stay in the table.
_LIST_COLUMNS = (
    "session", "name", "status", "telegram_name", "telegram_username", "connector_active_at", "updated_at",
)  # fmt: skip
_STATUS_LABELS = dict(InstanceStatus.choices)
_HEALTH_LABELS = dict(Health.choices)


class ListRow(TypedDict):
    """One row of the list, every value ready to print: the template looks each up once."""

    session: str
    url: str
    name: str
    status: str
    status_label: str
    health_state: str
    health_label: str
    health_reason: str
    failing_since: str  # "HH:MM", or "" when not failing (or unreachable, which says so itself)
    checked: str  # "3 minutes ago" or "—"
    connector_active: str
    telegram_name: str
    telegram_username: str
    phone_masked: str
    updated: str


class InstancePaginator(Paginator[Any]):
    """Pages through the instances' ids, then reads only the page's rows, with their health.

    With 10,000 instances, ordering whole rows for a sort or a deep page cost PostgreSQL 40-60 ms
    (every column of every instance carried through the sort); the ids and the sort key are cheap,
    and migration 0022's indexes hold both. The page's object_list is its ListRows.
    """

    def __init__(self, instances: QuerySet[ConnectorInstance], per_page: int, *, sort: str) -> None:
        ids: Any = instances.values_list("pk", flat=True)
        if sort.removeprefix("-") == "checked":
            ids = _CheckedOrder(instances, descending=sort.startswith("-"))
        super().__init__(ids, per_page)
        self.sort = sort

    def page(self, number: int | str) -> Page[Any]:
        page = super().page(number)
        page_rows = (
            ConnectorInstance.objects.filter(pk__in=page.object_list)
            .only(*_LIST_COLUMNS)
            .annotate(
                health_state=F("health__state"),
                health_reason=F("health__reason"),
                health_failing_since=F("health__failing_since"),
                health_checked_at=F("health__checked_at"),
                # The stored token, not the decrypted number: see _masked_phone().
                phone_token=Cast("phone", TextField()),
            )
        )
        page.object_list = list_rows(instances_sorted(page_rows, self.sort))
        return page


class _CheckedOrder:
    """The ids in "last checked" order, read as two parts that each follow an index.

    One ORDER BY over the instances joined to their health (never-checked ones last) sorted every
    instance for every page; instead the checked instances come in their checks' order (the
    index on health.checked_at), and after the last of them the never-checked ones by SESSION.
    """

    def __init__(self, instances: QuerySet[ConnectorInstance], *, descending: bool) -> None:
        self.instances = instances.order_by()
        checked_at = F("health__checked_at")
        self.checked = (
            instances.filter(health__checked_at__isnull=False)
            .order_by(checked_at.desc() if descending else checked_at.asc(), "session")
            .values_list("pk", flat=True)
        )
        self.never = (
            instances.filter(Q(health__isnull=True) | Q(health__checked_at__isnull=True))
            .order_by("session")
            .values_list("pk", flat=True)
        )

    def count(self) -> int:
        return self.instances.count()

    def __getitem__(self, window: slice) -> list[int]:
        start, stop = window.start or 0, window.stop
        ids = list(self.checked[start:stop])
        if len(ids) == stop - start:
            return ids
        # The page reaches past the checked instances: how many there are, then the rest.
        checked = start + len(ids) if ids else self.checked.count()
        return ids + list(self.never[max(0, start - checked) : stop - checked])


def list_rows(instances: Iterable[ConnectorInstance], *, now: datetime | None = None) -> list[ListRow]:
    """The rows as the list prints them (one dict each: the template's cheapest lookup).

    Formatting here instead of with template filters halves the page's rendering time.
    """
    now = now or timezone.now()
    detail_url = reverse("instance_detail", args=["SESSION"])
    rows: list[ListRow] = []
    for instance in instances:
        health_state = getattr(instance, "health_state", None) or ""
        failing_since = getattr(instance, "health_failing_since", None)
        checked_at = getattr(instance, "health_checked_at", None)
        rows.append(
            ListRow(
                session=instance.session,
                url=detail_url.replace("SESSION", instance.session),
                name=instance.name,
                status=instance.status,
                status_label=_STATUS_LABELS.get(instance.status, ""),
                health_state=health_state,
                health_label=_HEALTH_LABELS.get(health_state, ""),
                health_reason=getattr(instance, "health_reason", None) or "",
                failing_since=_clock(failing_since) if failing_since and health_state != Health.UNREACHABLE else "",
                checked=_ago(checked_at, now),
                connector_active=_ago(instance.connector_active_at, now),
                telegram_name=instance.telegram_name,
                telegram_username=instance.telegram_username,
                phone_masked=_row_phone(instance),
                updated=timezone.localtime(instance.updated_at).strftime("%Y-%m-%d %H:%M"),
            )
        )
    return rows


def _row_phone(instance: ConnectorInstance) -> str:
    token = getattr(instance, "phone_token", None)
    if token is None:  # a row loaded with the phone itself
        return instance.phone_masked
    return _masked_phone(token, tuple(settings.SESSION_ENCRYPTION_KEYS)) if token else ""


@functools.lru_cache(maxsize=4096)
def _masked_phone(token: str, keys: tuple[str, ...]) -> str:
    """The masked number of a stored phone token, decrypted once per token (and keys) in a process.

    A list page showed 50 numbers and decrypted each on every request. Only the masked form is
    kept, which the page prints anyway; a new token (a new number, a rotated key) is a new entry.
    """
    try:
        return mask_phone(decrypt(token))
    except SecretUnreadable:
        return "(cannot be decrypted)"


def _ago(moment: datetime | None, now: datetime) -> str:
    """What `{{ moment|timesince }} ago` printed ("—" for never)."""
    if not moment:
        return "—"
    seconds = (now - moment).total_seconds()
    if 0 <= seconds < 86_400:  # within a day the words depend on the whole minutes alone
        return _minutes_ago(int(seconds // 60), translation.get_language())
    return f"{timesince(moment, now)} ago"


@functools.lru_cache(maxsize=2048)
def _minutes_ago(minutes: int, language: str | None) -> str:
    # The rows of a page were mostly checked within the same few minutes: the words are reused.
    now = datetime(2000, 1, 1, tzinfo=UTC)
    return f"{timesince(now - timedelta(minutes=minutes), now)} ago"


def _clock(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")  # what |date:"H:i" printed, at a quarter of its cost


def instances_matching(instances: QuerySet[ConnectorInstance], query: str) -> QuerySet[ConnectorInstance]:
    """Case-insensitive substring of the SESSION, the display name or the account's name or @username.

    Only plain columns: the phone is encrypted and never searched. The columns are folded into one
    stored text when a row is written (`list_search_text`; PostgreSQL indexes its trigrams), and
    the query is folded by the same database function. (SQLite folds case for ASCII letters only;
    PostgreSQL for all.) "@name" finds the usernames that start with name.
    """
    query = query.strip().replace(LIST_SEPARATOR, "")
    if not query:
        return instances
    return instances.filter(list_search_text__contains=Lower(Value(query)))


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
