"""The one place views load an instance and check the user's role on it (selectors.access decides)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sessions_app.models import ConnectorInstance, Role
from sessions_app.selectors.access import NoSuchInstance, RoleTooLow, instance_access
from sessions_app.services.audit import audit_record


def instance_for(request: HttpRequest, session: str, needed: str = Role.VIEWER) -> tuple[ConnectorInstance, str]:
    """(instance, role) or 404 for someone with no role on it, 403 for a role too low for the action.

    A refused attempt to change something (any method but GET and HEAD) is audited: the team
    sees who tried what. Refused reads are not, as no read is.
    """
    try:
        return instance_access(user=request.user, session=session, needed=needed)
    except NoSuchInstance:
        raise Http404("No such instance") from None
    except RoleTooLow as low:
        if request.method not in ("GET", "HEAD", "OPTIONS") and isinstance(request.user, User):
            match = request.resolver_match
            audit_record(
                instance=low.instance,
                actor=request.user,
                action="access.refused",
                outcome="refused",
                detail={"view": match.url_name if match is not None else "", "needed": low.needed, "role": low.role},
            )
        raise PermissionDenied(str(low)) from None
