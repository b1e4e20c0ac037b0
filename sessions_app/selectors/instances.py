"""Read queries for the instance pages: the list a user may see, pending logins, recent audit."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sessions_app.models import AuditEvent, ConnectorInstance, PendingLogin


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


def instance_exists(*, session: str) -> bool:
    """Whether an instance has that SESSION, whoever asks (callers decide what to reveal)."""
    return ConnectorInstance.objects.filter(session=session).exists()
