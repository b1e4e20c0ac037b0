"""Read queries for views: what a user may see, and the state pages show."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from sessions_app.models import ROLE_RANK, AuditEvent, ConnectorInstance, Membership, PendingLogin, Role


def instances_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[ConnectorInstance]:
    # The list never shows the session or the API hash: don't fetch (and decrypt) them.
    queryset = ConnectorInstance.objects.defer("session_string", "api_hash")
    if not user.is_superuser:
        queryset = queryset.filter(memberships__user=user)
    return queryset.order_by("session")


def role_of(user: AbstractBaseUser | AnonymousUser, instance: ConnectorInstance) -> str | None:
    """The user's role on the instance; team admins (superusers) are owners of everything."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    return Membership.objects.filter(user=user, instance=instance).values_list("role", flat=True).first()


def has_role(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def can_create_instances(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


def pending_login_for(instance: ConnectorInstance) -> PendingLogin | None:
    return PendingLogin.objects.filter(instance=instance).first()


def recent_audit(instance: ConnectorInstance, limit: int = 20) -> QuerySet[AuditEvent]:
    return instance.audit_events.select_related("actor").order_by("-created_at", "-id")[:limit]


def store_location() -> str:
    """Where session objects live ("s3://bucket" or a local directory), for pages. No I/O."""
    from sessions_app.storage import get_session_storage

    return get_session_storage().location
