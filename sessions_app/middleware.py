"""Middleware for signed-in pages: never cached, and held at the two-step check until it is passed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

from sessions_app.signin import SecondFactor, second_factor_step

GetResponse = Callable[[HttpRequest], Any]


class _SyncAndAsync:
    """Runs in either mode, so an ASGI request stays async through the stack."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        return self.handle_async(request) if self.is_async else self.handle(request)

    def handle(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError

    async def handle_async(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError


class NoStoreForSignedInMiddleware(_SyncAndAsync):
    """`Cache-Control: private, no-store` on every response to a signed-in user.

    Pages show phone numbers, accounts, archived messages and (on the enrol page) a TOTP secret:
    neither a shared proxy nor the browser's back/forward cache may keep them. Static files are
    served before this (WhiteNoise) and stay cacheable.
    """

    VALUE = "private, no-store"

    def handle(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = self.get_response(request)
        if request.user.is_authenticated:
            response["Cache-Control"] = self.VALUE
        return response

    async def handle_async(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase = await self.get_response(request)
        if (await request.auser()).is_authenticated:
            response["Cache-Control"] = self.VALUE
        return response


# Reachable before the code step: the code form and the enrol page themselves, and signing out.
_OPEN_DURING_SECOND_FACTOR = {
    SecondFactor.VERIFY: ("two_factor_verify", "logout"),
    SecondFactor.ENROL: ("two_factor", "logout"),
}


def _step(user: User | AnonymousUser) -> SecondFactor | None:
    is_verified = getattr(user, "is_verified", None)  # installed by django-otp's OTPMiddleware
    return second_factor_step(user, verified=bool(is_verified and is_verified()))


def _hold(request: HttpRequest, step: SecondFactor | None) -> HttpResponse | None:
    """The redirect to the code form (or the enrol page), or None when the request may go on."""
    if step is None:
        return None
    open_paths = {reverse(name) for name in _OPEN_DURING_SECOND_FACTOR[step]}
    if request.path in open_paths:
        return None
    target = reverse("two_factor_verify" if step is SecondFactor.VERIFY else "two_factor")
    if request.method == "GET":
        target += "?" + urlencode({"next": request.get_full_path()})
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target  # htmx would otherwise swap the form into a fragment
        return response
    return HttpResponseRedirect(target)


class SecondFactorMiddleware(_SyncAndAsync):
    """Sends a signed-in user who still owes the code step (or, with TEAM_REQUIRE_2FA, an enrolment) there first.

    Installed after django-otp's OTPMiddleware, on every path (the admin too).
    """

    def handle(self, request: HttpRequest) -> HttpResponseBase:
        held = _hold(request, _step(request.user))
        if held is not None:
            return held
        response: HttpResponseBase = self.get_response(request)
        return response

    async def handle_async(self, request: HttpRequest) -> HttpResponseBase:
        user = await request.auser()
        held = _hold(request, await sync_to_async(_step)(user))
        if held is not None:
            return held
        response: HttpResponseBase = await self.get_response(request)
        return response
