"""/api/v1/instances/{session}/authorizations/: the account's active sessions, and Terminate (owners)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from sessions_app.api.access import api_write, instance_for_api
from sessions_app.api.auth import user_of
from sessions_app.api.errors import ApiError
from sessions_app.api.instances import WRITE
from sessions_app.models import Role
from sessions_app.services import authorizations as authorization_service

router = Router(tags=["authorizations"])


class AuthorizationOut(Schema):
    hash: str  # a signed 64-bit integer, as a string: JSON numbers lose its last digits in JavaScript
    whose: str
    current: bool
    device_model: str
    platform: str
    system_version: str
    app_name: str
    app_version: str
    ip: str
    country: str
    region: str
    date_created: datetime | None
    date_active: datetime | None
    official_app: bool
    terminable: bool
    # What it is to the dashboard: another instance's key (its SESSION and name, when the caller
    # may see that instance), and for another device, the security watch's mark.
    instance_session: str
    instance_name: str
    watched: str | None  # "baseline", "new" or "known" for whose == "device"; else null
    first_seen_at: datetime | None  # when a check first saw it
    known_by: str  # who marked it as known: a username, "a former team member", or "" if nobody
    known_at: datetime | None


class AuthorizationsOut(Schema):
    items: list[AuthorizationOut]
    terminate_from: datetime | None
    can_terminate_now: bool


class TerminatedOut(Schema):
    session: str
    hash: str


@router.get("/{session:session}/authorizations/", response={200: AuthorizationsOut, **WRITE})
def authorizations(request: HttpRequest, session: str) -> AuthorizationsOut:
    """The account's active sessions, read with the dashboard's own key (viewers)."""
    instance = instance_for_api(request, session)
    view = authorization_service.authorizations_list(instance=instance, actor=user_of(request))
    return AuthorizationsOut(
        items=[
            AuthorizationOut(
                hash=str(row.item.hash),
                whose=str(row.whose),
                current=row.item.current,
                device_model=row.item.device_model,
                platform=row.item.platform,
                system_version=row.item.system_version,
                app_name=row.item.app_name,
                app_version=row.item.app_version,
                ip=row.item.ip,
                country=row.item.country,
                region=row.item.region,
                date_created=row.item.date_created,
                date_active=row.item.date_active,
                official_app=row.item.official_app,
                terminable=row.terminable,
                instance_session=row.instance_session,
                instance_name=row.instance_name,
                watched=None if row.watched is None else str(row.watched),
                first_seen_at=row.seen_at,
                known_by=row.known_by,
                known_at=row.known_at,
            )
            for row in view.rows
        ],
        terminate_from=view.terminate_from,
        can_terminate_now=view.can_terminate_now(timezone.now()),
    )


def _hash(raw: str) -> int:
    """Telegram's authorization hashes are signed 64-bit integers; anything else is not one."""
    try:
        value = int(raw)
    except ValueError:
        value = 2**63
    if not -(2**63) <= value < 2**63:
        raise ApiError(400, "That is not a session id of this account. Take `hash` from the list.", "hash")
    return value


@router.post("/{session:session}/authorizations/{hash}/terminate/", response={200: TerminatedOut, **WRITE})
@api_write("terminate an active session on")
def authorization_terminate(request: HttpRequest, session: str, hash: str) -> TerminatedOut:  # noqa: A002
    """End one of the account's other sessions (owners); Telegram's 24-hour rule applies (409 until then)."""
    instance = instance_for_api(request, session, Role.OWNER)
    target = _hash(hash)
    authorization_service.authorization_terminate(instance=instance, actor=user_of(request), authorization_hash=target)
    return TerminatedOut(session=session, hash=str(target))
