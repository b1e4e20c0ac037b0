from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.forms import InstanceForm, VerifyForm
from sessions_app.forms_instances import BulkForm, InstanceListForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import ConnectorInstance, Role
from sessions_app.selectors import access, instance_state
from sessions_app.selectors import health as health_selectors
from sessions_app.selectors import instances as selectors
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instance_bulk import BULK_MAX, BulkAction, instances_bulk
from sessions_app.services.instances import instance_create
from sessions_app.views.access import instance_for

INSTANCES_PER_PAGE = 50  # a page renders in well under 50 ms with 1,000 instances (bench/pages.py)


def instance_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET ?q= (search) &status= (status or health) &sort= &page=; ?attention=1 is status=attention."""
    visible = selectors.instances_visible_to(request.user)
    params = request.GET.copy()
    if params.get("attention") == "1" and not params.get("status"):
        params["status"] = selectors.ATTENTION
    form = InstanceListForm(params)
    form.is_valid()
    query, state, sort = form.value("q"), form.value("status"), form.value("sort")
    instances = selectors.instances_in_state(selectors.instances_matching(visible, query), state)
    instances = selectors.instances_sorted(instances, sort)
    page = selectors.InstancePaginator(instances, INSTANCES_PER_PAGE, sort=sort).get_page(request.GET.get("page"))
    context = {
        "rows": page.object_list,
        "page": page,
        "form": form,
        "status_select": form.select("status"),
        "sort_select": form.select("sort"),
        "query": query,
        "state": state,
        "sort": sort,
        "filtered": bool(query or state),
        "bulk_max": BULK_MAX,
        "can_create": access.can_create_instances(request.user),
        "attention": state == selectors.ATTENTION,
        "attention_count": health_selectors.attention_count(request.user),
        "schedule": health_selectors.schedule_state(),
    }
    return render(request, "sessions_app/instance_list.html", context, status=400 if form.errors else 200)


@require_POST
def instance_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """POST action=check|archive and session=... (repeated): each row decided on its own."""
    form = BulkForm(request.POST)
    back = _list_url(request.POST.get("back", ""))
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    action = BulkAction(form.cleaned_data["action"])
    try:
        results = instances_bulk(actor=request.user, action=action, sessions=request.POST.getlist("session"))
    except ActionRefused as refusal:
        messages.error(request, refusal.message)
        return redirect(back)
    done = [r for r in results if r.done]
    # Both actions only queue work for the worker: the runs and checks finish later, in the list.
    label = "Check now" if action is BulkAction.CHECK else "Archive now"
    summary = f"{label}: queued on {len(done)} of {len(results)} selected instance{pluralize(len(results))}."
    (messages.success if len(done) == len(results) else messages.warning)(request, summary)
    for result in results:
        (messages.info if result.done else messages.error)(request, result.sentence)
    return redirect(back)


def _list_url(back: str) -> str:
    """The list with the search, filter, sort and page the form was posted from (nothing else)."""
    kept = QueryDict(back.removeprefix("?"))
    clean = QueryDict(mutable=True)
    for name in ("q", "status", "sort", "page", "attention"):
        value = kept.get(name, "")
        if value:
            clean[name] = value[:200]
    url = reverse("instance_list")
    return f"{url}?{clean.urlencode()}" if clean else url


@require_http_methods(["GET", "POST"])
def instance_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not access.can_create_instances(request.user):
        raise PermissionDenied("Only team admins (staff) can add connector instances.")
    form = InstanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            instance = instance_create(
                actor=request.user,
                session=data["session"],
                name=data["name"],
                api_id=data["api_id"],
                api_hash=data["api_hash"],
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, f"Instance {instance.session} created. Next: log it in to Telegram.")
            return redirect("instance_detail", session=instance.session)
    return render(request, "sessions_app/instance_new.html", {"form": form}, status=400 if form.errors else 200)


def instance_detail(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, role = instance_for(request, session)
    return instance_detail_page(request, instance, role)


def instance_detail_page(
    request: AuthenticatedHttpRequest,
    instance: ConnectorInstance,
    role: str,
    verify_form: VerifyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The instance page; Verify re-renders it with its form when the password was missing or wrong."""
    context = {
        "verify_form": verify_form or VerifyForm(),
        "instance": instance,
        "role": role,
        "can_operate": access.has_role(role, Role.OPERATOR),
        "can_own": access.has_role(role, Role.OWNER),
        "pending": selectors.pending_login_for(instance),
        "audit": selectors.recent_audit(instance),
        "store_location": selectors.store_location(),
        "health": health_selectors.instance_health(instance),
        "health_checks": health_selectors.last_checks(instance),
        "ended": instance_state.session_ended(instance),
        "last_verify": instance_state.last_verify_finding(instance),
        "save_unavailable": instance_state.save_unavailable(instance),
        "revoke_unavailable": instance_state.revoke_unavailable(instance),
    }
    return render(request, "sessions_app/instance_detail.html", context, status=status)
