"""The audit trail: every instance the user may see (/audit/) or one instance's, filtered, paged, exported."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from sessions_app.forms_team import AuditFilterForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import AuditEvent, ConnectorInstance, Role
from sessions_app.selectors import audit as selectors
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.audit import audit_record
from sessions_app.views.access import instance_for

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A spreadsheet must not run a cell as a formula: prefix one that could start one with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(["time (UTC)", "instance", "who", "action", "outcome", "what happened", "detail"])
    for event in events.order_by("-id").iterator(chunk_size=1000):
        row = [
            event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
            event.session,
            event.actor_name,
            event.action,
            event.outcome,
            audit_sentence(event),
            json.dumps(event.detail, sort_keys=True),
        ]
        yield writer.writerow([csv_cell(cell) for cell in row])


def _trail(request: AuthenticatedHttpRequest, instance: ConnectorInstance | None) -> HttpResponseBase:
    visible = selectors.audit_events_visible(user=request.user, instance=instance)
    form = AuditFilterForm(request.GET)
    form.is_valid()  # invalid fields are shown with their error and left out of the filter
    events = selectors.audit_events_filtered(visible, form.filters())
    if request.GET.get("export") == "csv":
        audit_record(
            instance=instance,
            actor=request.user,
            action="audit.export",
            detail={k: v for k, v in request.GET.items() if k in ("who", "action", "outcome", "since", "until") and v},
        )
        name = f"audit-{instance.session if instance else 'all'}-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response = StreamingHttpResponse(_csv_rows(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    page, next_before = selectors.audit_page(events, before=form.cleaned_data.get("before"))
    actions, outcomes = selectors.audit_choices(visible)
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "instance": instance,
        "form": form,
        "rows": [(event, audit_sentence(event)) for event in page],
        "next_before": next_before,
        "query": query.urlencode(),
        "actions": actions,
        "outcomes": outcomes,
    }
    return render(request, "sessions_app/audit/trail.html", context)


@require_GET
def audit_trail(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _trail(request, None)


@require_GET
def instance_audit(request: AuthenticatedHttpRequest, session: str) -> HttpResponseBase:
    instance, _ = instance_for(request, session, Role.VIEWER)
    return _trail(request, instance)
