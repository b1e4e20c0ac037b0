"""The one place views load an instance and check the user's role on it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sessions_app import selectors
from sessions_app.models import ConnectorInstance, Role


def instance_for(request: HttpRequest, session: str, needed: str = Role.VIEWER) -> tuple[ConnectorInstance, str]:
    """(instance, role) or 404 for someone with no role on it, 403 for a role too low for the action."""
    instance = ConnectorInstance.objects.filter(session=session).first()
    role = selectors.role_of(request.user, instance) if instance is not None else None
    if instance is None or role is None:
        raise Http404("No such instance")
    if not selectors.has_role(role, needed):
        raise PermissionDenied(f"This needs the {needed} role on {session}; you are {role}.")
    return instance, role
