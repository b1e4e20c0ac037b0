"""/api/v1/instances/: list, create, read, rename, delete, health and Check now (the pages' rules and roles)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from sessions_app.api.access import api_write, instance_for_api
from sessions_app.api.auth import user_of
from sessions_app.api.errors import ApiError, ErrorOut
from sessions_app.api.schemas import (
    CheckOut,
    DeletedOut,
    HealthOut,
    InstanceIn,
    InstanceOut,
    InstancePage,
    InstancePatch,
    instance_out,
)
from sessions_app.forms import InstanceForm
from sessions_app.forms_instances import DeleteForm, InstanceListForm, RenameForm
from sessions_app.models import ConnectorInstance, Role
from sessions_app.models_health import InstanceHealth
from sessions_app.selectors import access
from sessions_app.selectors import health as health_selectors
from sessions_app.selectors import instances as selectors
from sessions_app.services.health.check import health_check
from sessions_app.services.instance_admin import ObjectChoice, instance_delete, instance_rename
from sessions_app.services.instances import instance_create

router = Router(tags=["instances"])

PER_PAGE = 50  # the list page's size
READ = {401: ErrorOut, 404: ErrorOut}
WRITE = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut}


class ListQuery(Schema):
    q: str = Field("", description="Part of the SESSION, the name or the account's name or @username")
    status: str = Field("", description="An instance status or a health finding, or `attention`")
    sort: str = Field("", description="name, -name, status, -status, checked, -checked (default: SESSION)")
    page: int = Field(1, ge=1)


def valid(form: forms.Form) -> dict[str, object]:
    """The form's cleaned data, or a 400 with its first error (the same sentence the page shows)."""
    if form.is_valid():
        return form.cleaned_data
    field, errors = next(iter(form.errors.items()))
    raise ApiError(400, str(errors[0]), None if field == NON_FIELD_ERRORS else field)


def _health(instance: ConnectorInstance) -> InstanceHealth | None:
    try:
        return instance.health
    except InstanceHealth.DoesNotExist:
        return None


@router.get("/", response={200: InstancePage, 400: ErrorOut, 401: ErrorOut})
def instance_list(request: HttpRequest, filters: Query[ListQuery]) -> InstancePage:
    """The instances the token's user has a role on, 50 a page, searched and filtered as the list page."""
    form = InstanceListForm({"q": filters.q, "status": filters.status, "sort": filters.sort})
    data = valid(form)
    found = selectors.instances_matching(selectors.instances_visible_to(user_of(request)), str(data["q"] or ""))
    found = selectors.instances_sorted(
        selectors.instances_in_state(found, str(data["status"] or "")), str(data["sort"])
    )
    page = Paginator(found.select_related("health"), PER_PAGE).get_page(filters.page)
    return InstancePage(
        items=[instance_out(instance, _health(instance)) for instance in page.object_list],
        page=page.number,
        pages=page.paginator.num_pages,
        count=page.paginator.count,
    )


@router.post("/", response={201: InstanceOut, **WRITE})
@api_write("create the instance")
def instance_new(request: HttpRequest, payload: InstanceIn) -> Status:
    """A new instance owned by the token's user (team admins only, as on /instances/new/)."""
    user = user_of(request)
    if not access.can_create_instances(user):
        raise ApiError(403, "Only team admins (staff) can add connector instances.")
    data = valid(InstanceForm({"session": payload.session, "name": payload.name}))
    instance = instance_create(actor=user, session=str(data["session"]), name=str(data["name"]))
    return Status(201, instance_out(instance, None))


@router.get("/{session:session}/", response={200: InstanceOut, **READ})
def instance_detail(request: HttpRequest, session: str) -> InstanceOut:
    instance = instance_for_api(request, session)
    return instance_out(instance, health_selectors.instance_health(instance))


@router.patch("/{session:session}/", response={200: InstanceOut, **WRITE})
@api_write("rename the instance")
def instance_rename_api(request: HttpRequest, session: str, payload: InstancePatch) -> InstanceOut:
    """Rename (owners): `name`, at most 200 characters, not blank."""
    instance = instance_for_api(request, session, Role.OWNER)
    data = valid(RenameForm({"name": payload.name}))
    instance = instance_rename(instance=instance, actor=user_of(request), name=str(data["name"]))
    return instance_out(instance, health_selectors.instance_health(instance))


class DeleteQuery(Schema):
    object: ObjectChoice = Field(
        ObjectChoice.NONE,
        description="When the object still holds a session: `revoke` first, or `keep` it; empty refuses (409)",
    )


@router.delete("/{session:session}/", response={200: DeletedOut, **WRITE})
@api_write("delete the instance")
def instance_delete_api(request: HttpRequest, session: str, choice: Query[DeleteQuery]) -> DeletedOut:
    """Delete (owners) with its archive and checks; the audit trail is kept."""
    instance = instance_for_api(request, session, Role.OWNER)
    data = valid(DeleteForm({"confirm": instance.session, "object": choice.object.value}))
    outcome = instance_delete(
        instance=instance,
        actor=user_of(request),
        confirm=str(data["confirm"]),
        choice=ObjectChoice(str(data["object"])),
    )
    return DeletedOut(session=session, object=outcome)  # type: ignore[arg-type]


@router.get("/{session:session}/health/", response={200: HealthOut, **READ})
def instance_health(request: HttpRequest, session: str) -> HealthOut:
    """What the last health check found (result `unknown`, checked_at null: never checked)."""
    instance = instance_for_api(request, session)
    return instance_out(instance, health_selectors.instance_health(instance)).health


@router.post("/{session:session}/check/", response={200: CheckOut, **WRITE})
@api_write("run a health check of")
def instance_check(request: HttpRequest, session: str) -> CheckOut:
    """Check now (operators): runs the check in this request and returns its result."""
    instance = instance_for_api(request, session, Role.OPERATOR)
    check = health_check(instance=instance, actor=user_of(request), trigger="api")
    return CheckOut(session=session, result=check.result, reason=check.reason, checked_at=check.started_at)
