"""Team sign-in rules: the two-step check (django-otp TOTP) and the lock-out after failures (django-axes).

Signing in is two steps for a user with a confirmed TOTP device: the password (Django's sign-in,
throttled by django-axes per username + client address), then a code from the authenticator app.
Until the second step, the session is signed in but not verified, and SecondFactorMiddleware sends
every page to the code form (the websocket refuses it the same way). With TEAM_REQUIRE_2FA=1,
owners (team admins, and anyone who owns an instance) without a device are sent to enrol first.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp.models import Device

from sessions_app.models import Membership, Role


class SecondFactor(enum.StrEnum):
    VERIFY = "verify"  # has a device: enter a code from it
    ENROL = "enrol"  # required to have one and has none: set one up


def two_factor_required(user: User) -> bool:
    """TEAM_REQUIRE_2FA applies to owners: team admins, and users who own at least one instance."""
    if not settings.TEAM_REQUIRE_2FA:
        return False
    return user.is_superuser or Membership.objects.filter(user=user, role=Role.OWNER).exists()


def second_factor_step(user: User | AnonymousUser, *, verified: bool) -> SecondFactor | None:
    """What a signed-in user still has to do before the dashboard serves them; None when nothing."""
    if not user.is_authenticated or verified:
        return None
    assert isinstance(user, User)
    if user_has_device(user, confirmed=True):
        return SecondFactor.VERIFY
    if two_factor_required(user):
        return SecondFactor.ENROL
    return None


def session_verified(user: User | AnonymousUser, session: Mapping[str, Any]) -> bool:
    """Whether this session passed the code step (OTPMiddleware's rule, for the websocket's scope)."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not user.is_authenticated or not persistent_id:
        return False
    device = Device.from_persistent_id(str(persistent_id))
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def client_ip(request: HttpRequest) -> str:
    """The caller's address for the lock-out: the proxy's X-Forwarded-For entry behind DJANGO_BEHIND_PROXY.

    Only the last entry is the proxy's own (a client can prepend anything), so it is the one trusted.
    """
    if settings.SECURE_PROXY_SSL_HEADER is not None:
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return str(request.META.get("REMOTE_ADDR", ""))


def lockout_message() -> str:
    cool_off = settings.AXES_COOLOFF_TIME
    assert isinstance(cool_off, timedelta)
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return (
        f"Too many failed sign-ins for this username from your address: signing in is blocked for {minutes} "
        f"minute{'s' if minutes != 1 else ''}. Wait, then try again with the right password, or ask a team admin "
        "to unlock it (Admin, Access attempts)."
    )


def locked_out_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, saying why and for how long (HTTP 429)."""
    form = AuthenticationForm(request)
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    form.initial["username"] = str(username)[:150]
    context = {"form": form, "locked_out": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
