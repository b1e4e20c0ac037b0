"""The API's one instance check (the pages' roles, through selectors.access) and the audit of every write."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from sessions_app.api.auth import token_of, user_of
from sessions_app.api.errors import NOT_FOUND, ApiError, as_api_error
from sessions_app.models import ConnectorInstance, Role
from sessions_app.selectors.access import NoSuchInstance, RoleTooLow, instance_access, role_of
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.storage import StoreError
from sessions_app.telegram.errors import TelegramError

View = TypeVar("View", bound=Callable[..., Any])
_APP_ERRORS = (ApiError, ActionRefused, TelegramError, StoreError)


def instance_for_api(request: HttpRequest, session: str, needed: str = Role.VIEWER) -> ConnectorInstance:
    """The instance, or 404 for one the token's user has no role on (existence never said), 403 for a low role."""
    try:
        instance, _ = instance_access(user=user_of(request), session=session, needed=needed)
    except NoSuchInstance:
        raise ApiError(404, NOT_FOUND) from None
    except RoleTooLow as low:
        raise ApiError(403, str(low)) from None
    return instance


def api_write(what: str) -> Callable[[View], View]:
    """Audits the write as the token's user, naming the token: done, or refused with the status it got.

    `what` reads after "used the API token “ci” to ..." and before the SESSION ("delete the instance").
    A request for an instance the user cannot see (404) is not audited, as the pages audit no 404.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        @sensitive_variables()  # its kwargs hold the payload: a session string, a 2FA password
        def audited(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            session = str(kwargs.get("session") or getattr(kwargs.get("payload"), "session", "") or "")
            try:
                result = view(request, *args, **kwargs)
            except _APP_ERRORS as failure:
                error = as_api_error(failure)
                if error.status != 404:
                    _audit(request, what, session, "refused" if error.status < 500 else "failed", error.status)
                raise
            _audit(request, what, session or str(getattr(result, "session", "")), "ok", 200)
            return result

        # ninja reads the parameters' types from the signature: resolved here in the view's own module.
        audited.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
        return cast(View, audited)

    return decorate


def _audit(request: HttpRequest, what: str, session: str, outcome: str, status: int) -> None:
    token = token_of(request)
    audit_record(
        instance=_visible_instance(request, session),
        actor=token.user,
        action="api.write",
        outcome=outcome,
        detail={"token": token.name, "token_id": token.pk, "what": what, "target": session, "status": status},
    )


def _visible_instance(request: HttpRequest, session: str) -> ConnectorInstance | None:
    """The instance the event is about, only when the token's user has a role on it (else its trail would
    show someone it cannot see; the event keeps the SESSION in its detail either way)."""
    instance = ConnectorInstance.objects.filter(session=session).first() if session else None
    if instance is None or role_of(user_of(request), instance) is None:
        return None
    return instance
