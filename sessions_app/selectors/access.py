"""Who may see and do what on an instance: the one access check for views and the websocket."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from sessions_app.models import ROLE_RANK, ConnectorInstance, Membership, Role


class NoSuchInstance(Exception):
    """No instance with that SESSION, or the user has no role on it (both look the same to them)."""


class RoleTooLow(Exception):
    """The user sees the instance but their role does not allow the action."""

    def __init__(self, *, instance: ConnectorInstance, needed: str, role: str) -> None:
        self.instance, self.session, self.needed, self.role = instance, instance.session, needed, role
        super().__init__(f"This needs the {needed} role on {instance.session}; you are {role}.")


def role_of(user: User | AnonymousUser, instance: ConnectorInstance) -> str | None:
    """The user's role on the instance; team admins (superusers) are owners of everything."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.OWNER
    return Membership.objects.filter(user=user, instance=instance).values_list("role", flat=True).first()


def has_role(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[Role(needed)]


def can_create_instances(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and (user.is_superuser or user.is_staff))


def instance_access(
    *, user: User | AnonymousUser, session: str, needed: str = Role.VIEWER
) -> tuple[ConnectorInstance, str]:
    """(instance, role); NoSuchInstance for someone with no role on it, RoleTooLow when the role is too low."""
    instance = ConnectorInstance.objects.filter(session=session).first()
    role = role_of(user, instance) if instance is not None else None
    if instance is None or role is None:
        raise NoSuchInstance(session)
    if not has_role(role, needed):
        raise RoleTooLow(instance=instance, needed=needed, role=role)
    return instance, role
