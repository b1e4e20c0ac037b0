"""Members of an instance (owners only): add by username or email, change a role, remove."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.forms_team import MemberAddForm, MemberRoleForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Membership, Role
from sessions_app.services import members as service
from sessions_app.services.errors import ActionRefused
from sessions_app.views.access import instance_for


@require_http_methods(["GET", "POST"])
def members(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = service.member_add(
                instance=instance,
                actor=request.user,
                identifier=form.cleaned_data["user"],
                role=form.cleaned_data["role"],
            )
        except ActionRefused as refusal:
            form.add_error(refusal.field, refusal.message)
        else:
            messages.success(request, f"{added.user.get_username()} is now {added.role} of {instance.session}.")
            return redirect("instance_members", session=instance.session)
    team = Membership.objects.filter(instance=instance).select_related("user").order_by("user__username")
    status = 400 if form.errors else 200
    context = {"instance": instance, "form": form, "team": team, "roles": Role.choices}
    return render(request, "sessions_app/members.html", context, status=status)


def _membership(request: AuthenticatedHttpRequest, session: str, member_id: int) -> Membership:
    instance, _ = instance_for(request, session, Role.OWNER)
    return get_object_or_404(Membership.objects.select_related("user"), pk=member_id, instance=instance)


@require_POST
def member_role(request: AuthenticatedHttpRequest, session: str, member_id: int) -> HttpResponse:
    membership = _membership(request, session, member_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles listed and try again.")
    else:
        try:
            changed = service.member_role_change(
                membership=membership, actor=request.user, role=form.cleaned_data["role"]
            )
        except ActionRefused as refusal:
            messages.error(request, f"{membership.user.get_username()} stays {membership.role}: {refusal.message}")
        else:
            messages.success(request, f"{changed.user.get_username()} is now {changed.role}.")
    return redirect("instance_members", session=session)


@require_POST
def member_remove(request: AuthenticatedHttpRequest, session: str, member_id: int) -> HttpResponse:
    membership = _membership(request, session, member_id)
    try:
        service.member_remove(membership=membership, actor=request.user)
    except ActionRefused as refusal:
        messages.error(request, f"{membership.user.get_username()} was not removed: {refusal.message}")
    else:
        messages.success(request, f"{membership.user.get_username()} no longer has access to {session}.")
    return redirect("instance_members", session=session)
