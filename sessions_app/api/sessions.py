"""/api/v1/instances/{session}/import/ and /verify/: the import form's and Verify's services, as JSON.

Logging an account in (phone, code, QR) stays a person's job in the browser: it has no endpoint.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from ninja import Router

from sessions_app.api.access import api_write, instance_for_api
from sessions_app.api.auth import user_of
from sessions_app.api.errors import ErrorOut
from sessions_app.api.instances import WRITE, valid
from sessions_app.api.schemas import ImportIn, InstanceOut, VerifyIn, VerifyOut, instance_out
from sessions_app.forms import ImportForm, VerifyForm
from sessions_app.models import Role
from sessions_app.selectors import health as health_selectors
from sessions_app.services import login_import
from sessions_app.services import sessions as session_service

router = Router(tags=["sessions"])


@router.post("/{session:session}/import/", response={200: InstanceOut, 413: ErrorOut, **WRITE})
@api_write("import a session string into")
@sensitive_variables("payload", "data")
def session_import(request: HttpRequest, session: str, payload: ImportIn) -> InstanceOut:
    """Adopt a session string made elsewhere (owners), as the import page: `password` for a 2FA account."""
    instance = instance_for_api(request, session, Role.OWNER)
    data = valid(ImportForm({"session_string": payload.session_string, "password": payload.password}))
    instance = login_import.session_import(
        instance=instance,
        actor=user_of(request),
        session_string=str(data["session_string"]),
        password=str(data["password"] or "") or None,
    )
    return instance_out(instance, health_selectors.instance_health(instance))


@router.post("/{session:session}/verify/", response={200: VerifyOut, **WRITE})
@api_write("verify the stored session of")
@sensitive_variables("payload", "data")
def session_verify(request: HttpRequest, session: str, payload: VerifyIn | None = None) -> VerifyOut:
    """Is the stored session alive? (operators) `password` only to adopt a 2FA account's object written elsewhere."""
    instance = instance_for_api(request, session, Role.OPERATOR)
    data = valid(VerifyForm({"password": payload.password if payload is not None else ""}))
    result = session_service.session_verify(
        instance=instance, actor=user_of(request), password=str(data["password"] or "") or None
    )
    instance.refresh_from_db()
    return VerifyOut(
        session=session,
        result=result,  # type: ignore[arg-type]
        instance=instance_out(instance, health_selectors.instance_health(instance)),
    )
