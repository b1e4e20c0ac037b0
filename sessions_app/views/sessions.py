"""Save, verify and revoke the session object; resolve a write conflict; active sessions."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.models import Role
from sessions_app.services import authorizations as authorization_service
from sessions_app.services import sessions as session_service
from sessions_app.storage import StoreConflict, StoreError
from sessions_app.telegram.errors import TelegramError
from sessions_app.views.access import instance_for


@require_POST
def session_save(request: HttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    choice = request.POST.get("resolve", "")
    try:
        if choice == "use_stored":
            session_service.session_use_stored(instance=instance, actor=request.user)
            messages.success(request, "Using the stored session: it works and is now this instance's session.")
        elif choice == "overwrite":
            info = session_service.session_save(
                instance=instance, actor=request.user, overwrite_etag=request.POST.get("etag", "")
            )
            messages.success(request, f"Overwrote the stored object (new ETag {info.etag}).")
        else:
            info = session_service.session_save(instance=instance, actor=request.user)
            messages.success(request, f"Saved to {instance.object_key} (ETag {info.etag}).")
    except StoreConflict as conflict:
        instance.refresh_from_db()
        return render(
            request,
            "sessions_app/conflict.html",
            {"instance": instance, "conflict": conflict, "current": conflict.current},
            status=409,
        )
    except (StoreError, TelegramError) as error:
        messages.error(
            request,
            f"Not saved: {error.message}"
            + (
                " The session is still kept (encrypted) here; Save again once the store is back."
                if isinstance(error, StoreError)
                else ""
            ),
        )
    return redirect("instance_detail", session=instance.session)


@require_POST
def session_verify(request: HttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    try:
        result = session_service.session_verify(instance=instance, actor=request.user)
    except (StoreError, TelegramError) as error:
        messages.error(request, f"Verify could not finish: {error.message} Nothing was changed.")
        return redirect("instance_detail", session=instance.session)
    text = {
        "alive": "Verified: the stored session is alive.",
        "fresh": "The stored object is empty or missing: a connector starting now would not be logged in.",
        "expired": "The stored session has expired. Log in again.",
        "revoked": "The stored session was revoked (logged out or terminated elsewhere). Log in again.",
    }[result]
    (messages.success if result == "alive" else messages.warning)(request, text)
    return redirect("instance_detail", session=instance.session)


@require_http_methods(["GET", "POST"])
def session_revoke(request: HttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    if request.method == "GET":
        return render(request, "sessions_app/revoke_confirm.html", {"instance": instance})
    try:
        session_service.session_revoke(instance=instance, actor=request.user)
    except session_service.RevokeIncomplete as incomplete:
        messages.error(request, incomplete.message)
        return redirect("instance_detail", session=instance.session)
    messages.success(request, f"Revoked: Telegram logged the session out and {instance.object_key} is now empty.")
    return redirect("instance_detail", session=instance.session)


def authorizations(request: HttpRequest, session: str) -> HttpResponse:
    instance, role = instance_for(request, session, Role.VIEWER)
    items, error = [], ""
    try:
        items = authorization_service.authorizations_list(instance=instance, actor=request.user)
    except TelegramError as failure:
        error = failure.message
    instance.refresh_from_db()
    context = {"instance": instance, "items": items, "error": error, "can_own": role == Role.OWNER}
    return render(request, "sessions_app/authorizations.html", context)


@require_http_methods(["GET", "POST"])
def authorization_terminate(request: HttpRequest, session: str, authorization_hash: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    try:
        target = int(authorization_hash)
    except ValueError:
        messages.error(request, "That is not a session id.")
        return redirect("authorizations", session=instance.session)
    if request.method == "GET":
        return render(
            request, "sessions_app/terminate_confirm.html", {"instance": instance, "hash": target, "all_others": False}
        )
    try:
        authorization_service.authorization_terminate(instance=instance, actor=request.user, authorization_hash=target)
    except TelegramError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "That session was terminated.")
    return redirect("authorizations", session=instance.session)


@require_http_methods(["GET", "POST"])
def authorizations_terminate_others(request: HttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    if request.method == "GET":
        return render(request, "sessions_app/terminate_confirm.html", {"instance": instance, "all_others": True})
    try:
        authorization_service.authorizations_terminate_others(instance=instance, actor=request.user)
    except TelegramError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "All other sessions of this account were terminated.")
    return redirect("authorizations", session=instance.session)
