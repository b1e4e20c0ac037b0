"""Save, verify and revoke the session object; resolve a write conflict; the dashboard's key; active sessions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from sessions_app.forms import UseStoredForm, VerifyForm, two_step_password_field
from sessions_app.http import AuthenticatedHttpRequest
from sessions_app.models import ConnectorInstance, Role
from sessions_app.selectors import instance_state
from sessions_app.selectors.access import has_role
from sessions_app.services import authorizations as authorization_service
from sessions_app.services import keys as key_service
from sessions_app.services import revoke as revoke_service
from sessions_app.services import sessions as session_service
from sessions_app.services.errors import ActionRefused, NoDashboardKey
from sessions_app.storage import StoreConflict, StoreError
from sessions_app.telegram.errors import TelegramError
from sessions_app.views.access import instance_for
from sessions_app.views.instances import instance_detail_page

# What needs the dashboard's own authorization, for the pages that say it is missing.
NEEDS_DASHBOARD_KEY = "Verify, Active sessions, Terminate and Archive"


def _conflict_page(
    request: AuthenticatedHttpRequest,
    instance: ConnectorInstance,
    conflict: StoreConflict,
    form: UseStoredForm,
    *,
    status: int,
) -> HttpResponse:
    return render(
        request,
        "sessions_app/conflict.html",
        {"instance": instance, "conflict": conflict, "current": conflict.current, "use_stored_form": form},
        status=status,
    )


@sensitive_post_parameters("password")
@sensitive_variables("password")
@require_POST
def session_save(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    choice = request.POST.get("resolve", "")
    try:
        if choice == "use_stored":
            form = UseStoredForm(request.POST)
            password = form.cleaned_data["password"] if form.is_valid() else ""
            try:
                session_service.session_use_stored(instance=instance, actor=request.user, password=password or None)
            except TelegramError as error:
                if error.field != "password":
                    raise
                # A 2FA account's stored session: the sentence goes next to the password field,
                # and the conflict (still unresolved) is shown again.
                form.add_error("password", error.message)
                instance.refresh_from_db()
                return _conflict_page(request, instance, session_service.stored_conflict(instance), form, status=400)
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
        return _conflict_page(request, instance, conflict, UseStoredForm(), status=409)
    except StoreError as error:
        messages.error(
            request,
            f"Not saved: {error.message} The session is still kept (encrypted) here; Save again once the store is back.",
        )
    except (ActionRefused, TelegramError) as error:
        messages.error(request, f"Not saved: {error.message}")
    return redirect("instance_detail", session=instance.session)


@sensitive_post_parameters("password")
@sensitive_variables("password")
@require_POST
def session_verify(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, role = instance_for(request, session, Role.OPERATOR)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return instance_detail_page(request, instance, role, verify_form=form, status=400)
    try:
        result = session_service.session_verify(
            instance=instance, actor=request.user, password=form.cleaned_data["password"] or None
        )
    except TelegramError as error:
        if error.field != "password":
            messages.error(request, f"Verify could not finish: {error.message} Nothing was changed.")
            return redirect("instance_detail", session=instance.session)
        # A 2FA account's object to adopt: the sentence goes next to the password field.
        form.add_error("password", error.message)
        instance.refresh_from_db()
        return instance_detail_page(request, instance, role, verify_form=form, status=400)
    except NoDashboardKey as refusal:
        messages.error(request, f"Verify did not run: {refusal.message}")
        return redirect("instance_detail", session=instance.session)
    except (StoreError, ActionRefused) as error:
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
def session_revoke(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    if request.method == "GET":
        unavailable = instance_state.revoke_unavailable(instance)
        return render(request, "sessions_app/revoke_confirm.html", {"instance": instance, "unavailable": unavailable})
    try:
        revoke_service.session_revoke(instance=instance, actor=request.user)
    except revoke_service.RevokeIncomplete as incomplete:
        messages.error(request, incomplete.message)
        return redirect("instance_detail", session=instance.session)
    except ActionRefused as refusal:
        messages.info(request, refusal.message)
        return redirect("instance_detail", session=instance.session)
    messages.success(
        request,
        f"Revoked: Telegram ended the connector's and the dashboard's authorizations and {instance.object_key} is now empty.",
    )
    return redirect("instance_detail", session=instance.session)


class MintForm(forms.Form):
    password = two_step_password_field(
        "Two-step verification password",
        "Only if the account has two-step verification. Used for this request only, never stored.",
    )


@sensitive_post_parameters("password")
@sensitive_variables("password", "session", "string", "connector_session")
@require_http_methods(["GET", "POST"])
def dashboard_key_mint(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    """GET explains what minting does to the connector's key; POST mints the dashboard's own key."""
    instance, _ = instance_for(request, session, Role.OPERATOR)
    form = MintForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            key_service.dashboard_key_mint(
                instance=instance, actor=request.user, password=form.cleaned_data["password"] or None
            )
        except (ActionRefused, TelegramError) as error:
            form.add_error("password" if error.field == "password" else None, error.message)
            instance.refresh_from_db()
        else:
            messages.success(request, f"The dashboard has its own authorization now: {NEEDS_DASHBOARD_KEY} work.")
            return redirect("instance_detail", session=instance.session)
    status = 400 if form.errors else 200
    return render(request, "sessions_app/dashboard_key.html", {"instance": instance, "form": form}, status=status)


def authorizations(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, role = instance_for(request, session, Role.VIEWER)
    view, error = None, ""
    try:
        view = authorization_service.authorizations_list(instance=instance, actor=request.user)
    except (ActionRefused, TelegramError) as failure:
        error = failure.message
    instance.refresh_from_db()
    now = timezone.now()
    context = {
        "instance": instance,
        "rows": view.rows if view is not None else [],
        "terminate_from": view.terminate_from if view is not None else None,
        "can_terminate_now": view is not None and view.can_terminate_now(now),
        "error": error,
        "needs_mint": not instance.dashboard_session and instance.has_session,
        "can_own": role == Role.OWNER,
        "can_mark": has_role(role, Role.OPERATOR),
    }
    return render(request, "sessions_app/authorizations.html", context)


def _terminate_hash(raw: str) -> int | None:
    """Telegram's authorization hashes are signed 64-bit integers; anything else is not one."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if -(2**63) <= value < 2**63 else None


@require_http_methods(["GET", "POST"])
def authorization_terminate(request: AuthenticatedHttpRequest, session: str, authorization_hash: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    target = _terminate_hash(authorization_hash)
    if target is None:
        messages.error(request, "That is not a session id of this account. Pick a session from the list.")
        return redirect("authorizations", session=instance.session)
    if request.method == "GET":
        # Name the device ("Pixel 8"), not the id; when Telegram cannot be asked now, the page says "the session you picked".
        try:
            listed = authorization_service.authorizations_list(instance=instance, actor=request.user)
        except (ActionRefused, TelegramError):
            authorization = None
        else:
            authorization = next((row.item for row in listed.rows if row.item.hash == target), None)
        context = {"instance": instance, "hash": target, "all_others": False, "authorization": authorization}
        return render(request, "sessions_app/terminate_confirm.html", context)
    try:
        authorization_service.authorization_terminate(instance=instance, actor=request.user, authorization_hash=target)
    except (ActionRefused, TelegramError) as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "That session was terminated.")
    return redirect("authorizations", session=instance.session)


@require_POST
def authorization_mark_known(request: AuthenticatedHttpRequest, session: str, authorization_hash: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OPERATOR)
    target = _terminate_hash(authorization_hash)
    if target is None:
        messages.error(request, "That is not a session id of this account. Pick a session from the list.")
        return redirect("authorizations", session=instance.session)
    try:
        authorization_service.authorization_mark_known(instance=instance, actor=request.user, authorization_hash=target)
    except (ActionRefused, TelegramError) as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Marked as known: the security watch will not alert it.")
    return redirect("authorizations", session=instance.session)


@require_http_methods(["GET", "POST"])
def authorizations_terminate_others(request: AuthenticatedHttpRequest, session: str) -> HttpResponse:
    instance, _ = instance_for(request, session, Role.OWNER)
    if request.method == "GET":
        return render(request, "sessions_app/terminate_confirm.html", {"instance": instance, "all_others": True})
    try:
        ended = authorization_service.authorizations_terminate_others(instance=instance, actor=request.user)
    except (ActionRefused, TelegramError) as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Ended {ended} other session(s). This instance's connector, the dashboard's own key and other "
            "instances' keys were kept.",
        )
    return redirect("authorizations", session=instance.session)
