"""Health: "Check now" on an instance (operators) and the alert deliveries page."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Role
from sessions_app.models_health import Health
from sessions_app.selectors import health as selectors
from sessions_app.services.errors import ActionRefused
from sessions_app.services.health.check import health_check
from sessions_app.views.access import instance_for

DELIVERIES_PER_PAGE = 100


@require_POST
def instance_check(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    try:
        check = health_check(instance=instance, actor=request.user, trigger="web")
    except ActionRefused as refusal:
        messages.error(request, f"The check did not run: {refusal.message}")
        return redirect("instance_detail", session=instance.session)
    text = f"Checked: {Health(check.result).label}. {check.reason}"
    if check.result == Health.HEALTHY:
        messages.success(request, text)
    elif check.result in (Health.UNREACHABLE, Health.BUSY):
        messages.warning(request, f"{text} The schedule tries again within a minute.")
    else:
        messages.error(request, text)
    return redirect("instance_detail", session=instance.session)


@require_GET
def alert_deliveries(request: AuthenticatedHttpRequest) -> HttpResponse:
    session = request.GET.get("session", "")
    deliveries = selectors.alert_deliveries_visible_to(request.user, session=session)
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sessions_app/alert_deliveries.html",
        {"deliveries": page.object_list, "page": page, "session": session},
    )
