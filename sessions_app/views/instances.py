from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sessions_app.forms import InstanceForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Role
from sessions_app.selectors import access
from sessions_app.selectors import health as health_selectors
from sessions_app.selectors import instances as selectors
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instances import instance_create
from sessions_app.views.access import instance_for

INSTANCES_PER_PAGE = 100


def instance_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    visible = selectors.instances_visible_to(request.user)
    attention = request.GET.get("attention") == "1"
    instances = health_selectors.instances_with_health(visible, needing_attention=attention)
    page = Paginator(instances, INSTANCES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "sessions_app/instance_list.html",
        {
            "instances": page.object_list,
            "page": page,
            "can_create": access.can_create_instances(request.user),
            "attention": attention,
            "attention_count": health_selectors.attention_count(visible),
            "schedule": health_selectors.schedule_state(),
        },
    )


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
    context = {
        "instance": instance,
        "role": role,
        "can_operate": access.has_role(role, Role.OPERATOR),
        "can_own": access.has_role(role, Role.OWNER),
        "pending": selectors.pending_login_for(instance),
        "audit": selectors.recent_audit(instance),
        "store_location": selectors.store_location(),
        "health": health_selectors.instance_health(instance),
        "health_checks": health_selectors.last_checks(instance),
    }
    return render(request, "sessions_app/instance_detail.html", context)
