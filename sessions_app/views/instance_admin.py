"""Rename and delete an instance: owners only (the role that manages members)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sessions_app.forms_instances import DeleteForm, RenameForm
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import Role
from sessions_app.selectors.archive import stored_media_count
from sessions_app.selectors.instances import stored_session
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instance_admin import InstanceGone, ObjectChoice, instance_delete, instance_rename
from sessions_app.views.access import instance_for

_OBJECT_SAID = {
    "kept": "The dashboard's own authorization was logged out; the session object {key} was left untouched in the "
    "store: a connector loading it stays logged in.",
    "revoked": "Its session was revoked first: both authorizations ended and {key} is empty.",
    "empty": "Its session object {key} was already empty and stays so.",
    "missing": "It had no session object in the store.",
}


@require_http_methods(["GET", "POST"])
def instance_rename_view(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    form = RenameForm(request.POST if request.method == "POST" else None, initial={"name": instance.name})
    if request.method == "POST" and form.is_valid():
        previous = instance.name
        try:
            instance_rename(instance=instance, actor=request.user, name=form.cleaned_data["name"])
        except InstanceGone as gone:
            return _gone(request, session, gone)
        except ActionRefused as refusal:
            form.add_error("name", refusal.message)
            instance.name = previous
        else:
            messages.success(request, f"Renamed {instance.session}: “{previous}” is now “{instance.name}”.")
            return redirect("instance_detail", session=instance.session)
    status = 400 if form.errors else 200
    return render(request, "sessions_app/instance_rename.html", {"instance": instance, "form": form}, status=status)


@require_http_methods(["GET", "POST"])
def instance_delete_view(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """GET: what deleting removes and what the object holds. POST: confirm=SESSION, object=""|revoke|keep."""
    instance, _ = instance_for(request, session, Role.OWNER)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = instance_delete(
                instance=instance,
                actor=request.user,
                confirm=form.cleaned_data["confirm"],
                choice=ObjectChoice(form.cleaned_data["object"]),
            )
        except InstanceGone as gone:
            return _gone(request, session, gone)
        except ActionRefused as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            instance.refresh_from_db()
        else:
            said = _OBJECT_SAID[outcome].format(key=instance.object_key)
            messages.success(request, f"Deleted {session} with its archive and checks; its audit trail is kept. {said}")
            return redirect("instance_list")
    context = {
        "instance": instance,
        "form": form,
        "stored": stored_session(instance),
        "media_files": stored_media_count(instance=instance),
    }
    return render(request, "sessions_app/instance_delete.html", context, status=400 if form.errors else 200)


def _gone(request: AuthenticatedHttpRequest, session: str, gone: InstanceGone) -> HttpResponse:
    return render(request, "sessions_app/instance_gone.html", {"session": session, "message": gone.message}, status=404)
