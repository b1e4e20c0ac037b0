"""/api/v1/audit/ and /api/v1/alerts/: what the token's user may see of the audit trail and alert deliveries."""

from __future__ import annotations

from datetime import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from sessions_app.api.auth import user_of
from sessions_app.api.errors import ErrorOut
from sessions_app.api.instances import valid
from sessions_app.forms_team import AuditFilterForm
from sessions_app.selectors import audit as audit_selectors
from sessions_app.selectors import health as health_selectors
from sessions_app.selectors.audit_sentences import audit_sentence

router = Router(tags=["audit and alerts"])
ALERTS_PER_PAGE = 100  # the alerts page's size


class AuditEventOut(Schema):
    id: int
    created_at: datetime
    session: str
    who: str
    action: str
    outcome: str
    sentence: str


class AuditPage(Schema):
    items: list[AuditEventOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null on the last")


class AuditQuery(Schema):
    who: str = ""
    action: str = ""
    outcome: str = ""
    since: str = Field("", description="YYYY-MM-DD")
    until: str = Field("", description="YYYY-MM-DD, inclusive")
    before: int | None = None


class AlertOut(Schema):
    id: int
    created_at: datetime
    session: str
    event: str
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str


class AlertPage(Schema):
    items: list[AlertOut]
    page: int
    pages: int
    count: int


@router.get("/audit/", response={200: AuditPage, 400: ErrorOut, 401: ErrorOut})
def audit(request: HttpRequest, filters: Query[AuditQuery]) -> AuditPage:
    """Newest first, 50 a page, with the audit page's filters; each event also as its sentence."""
    form = AuditFilterForm({k: v for k, v in filters.model_dump().items() if v not in (None, "")})
    valid(form)
    visible = audit_selectors.audit_events_visible(user=user_of(request))
    events = audit_selectors.audit_events_filtered(visible, form.filters())
    page, next_before = audit_selectors.audit_page(events, before=form.cleaned_data.get("before"))
    return AuditPage(
        items=[
            AuditEventOut(
                id=event.pk,
                created_at=event.created_at,
                session=event.session,
                who=event.actor_name,
                action=event.action,
                outcome=event.outcome,
                sentence=audit_sentence(event),
            )
            for event in page
        ],
        next_before=next_before,
    )


class AlertQuery(Schema):
    session: str = ""
    page: int = Field(1, ge=1)


@router.get("/alerts/", response={200: AlertPage, 401: ErrorOut})
def alerts(request: HttpRequest, filters: Query[AlertQuery]) -> AlertPage:
    """Alert deliveries of the instances the user has a role on, newest first, 100 a page."""
    deliveries = health_selectors.alert_deliveries_visible_to(user_of(request), session=filters.session)
    page = Paginator(deliveries, ALERTS_PER_PAGE).get_page(filters.page)
    return AlertPage(
        items=[
            AlertOut(
                id=d.pk,
                created_at=d.created_at,
                session=d.session,
                event=d.event,
                channel=d.channel,
                target=d.target,
                status=d.status,
                attempts=d.attempts,
                last_error=d.last_error,
            )
            for d in page.object_list
        ],
        page=page.number,
        pages=page.paginator.num_pages,
        count=page.paginator.count,
    )
