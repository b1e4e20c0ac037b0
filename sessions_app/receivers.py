"""Signal receivers: sign-ins into the audit trail, role changes out to the open websockets.

Connected once in SessionsAppConfig.ready(). Each one hands its signal to a service; none holds a rule.
"""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest

from sessions_app.models import ConnectorInstance, Membership
from sessions_app.services.audit import audit_record
from sessions_app.services.events import event_broadcast

USERNAME_MAX = 150


def _attempt_detail(request: HttpRequest | None, username: object) -> dict[str, Any]:
    detail: dict[str, Any] = {"username": str(username or "")[:USERNAME_MAX]}
    if request is not None:
        detail["ip"] = getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "")
    return detail


def _known_user(username: object) -> User | None:
    found = get_user_model().objects.filter(username=str(username or "")[:USERNAME_MAX]).first()
    return found if isinstance(found, User) else None


def _refused_while_locked_out(request: HttpRequest | None) -> bool:
    """An attempt axes refused without counting it: recorded once, when the lock-out began."""
    return bool(getattr(request, "axes_locked_out", False)) and getattr(request, "axes_failures_since_start", 1) is None


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if _refused_while_locked_out(request):
        return
    username = credentials.get("username")
    audit_record(
        instance=None,
        actor=_known_user(username),
        action="signin.failed",
        outcome="refused",
        detail=_attempt_detail(request, username),
    )


def on_locked_out(sender: Any, request: HttpRequest | None, username: object, **kwargs: Any) -> None:
    if _refused_while_locked_out(request):
        return
    detail = _attempt_detail(request, username)
    detail["failures"] = getattr(request, "axes_failures_since_start", None)
    audit_record(
        instance=None, actor=_known_user(username), action="signin.locked_out", outcome="refused", detail=detail
    )


def on_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    audit_record(instance=None, actor=user, action="signin.ok", detail=_attempt_detail(request, user.get_username()))


def on_logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    if user is not None:  # None: the session had already expired
        audit_record(instance=None, actor=user, action="signout")


def on_membership_changed(sender: Any, instance: Membership, **kwargs: Any) -> None:
    """A role given, changed or taken away: the instance's open sockets re-check who may watch."""
    session = ConnectorInstance.objects.filter(pk=instance.instance_id).values_list("session", flat=True).first()
    if session is not None:  # None: the instance itself is being deleted
        event_broadcast(session=session, kind="access", data={"user_id": instance.user_id})


def connect() -> None:
    user_login_failed.connect(on_login_failed, dispatch_uid="teleconnect.signin.failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="teleconnect.signin.locked_out")
    user_logged_in.connect(on_logged_in, dispatch_uid="teleconnect.signin.ok")
    user_logged_out.connect(on_logged_out, dispatch_uid="teleconnect.signout")
    post_save.connect(on_membership_changed, sender=Membership, dispatch_uid="teleconnect.membership.saved")
    post_delete.connect(on_membership_changed, sender=Membership, dispatch_uid="teleconnect.membership.deleted")
