"""The one place views load an instance and check the user's role on it (selectors.access decides)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sessions_app.models import ConnectorInstance, Role
from sessions_app.selectors.access import NoSuchInstance, RoleTooLow, instance_access


def instance_for(request: HttpRequest, session: str, needed: str = Role.VIEWER) -> tuple[ConnectorInstance, str]:
    """(instance, role) or 404 for someone with no role on it, 403 for a role too low for the action."""
    try:
        return instance_access(user=request.user, session=session, needed=needed)
    except NoSuchInstance:
        raise Http404("No such instance") from None
    except RoleTooLow as low:
        raise PermissionDenied(str(low)) from None
