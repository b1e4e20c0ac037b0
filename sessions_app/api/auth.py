"""Who a request to /api/ is: the bearer token's user, or nobody (401). Never a browser's cookie."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.debug import sensitive_variables
from ninja.security import HttpBearer

from sessions_app.models_api import ApiToken
from sessions_app.services.api_tokens import api_token_authenticate
from sessions_app.services.audit import audit_via_token

API_PREFIX = "/api/"


class BearerToken(HttpBearer):
    """`Authorization: Bearer tc_...`: the token's user becomes request.user for this request."""

    @sensitive_variables("value", "token")
    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # ninja's own parser logs an unexpected header whole in DEBUG: this one never logs it.
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, value.strip())

    @sensitive_variables("token")
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_authenticate(secret=token)
        if found is not None:
            request.user = found.user
        return found


def token_of(request: HttpRequest) -> ApiToken:
    token = getattr(request, "auth", None)
    assert isinstance(token, ApiToken), "an API view runs only after BearerToken accepted the request"
    return token


def user_of(request: HttpRequest) -> User:
    return token_of(request).user


def audited_via_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every audit event the view records, the services' own included, names the token the request came with.

    Installed on the whole API (ninja runs it after BearerToken accepted the request), so no view can forget it.
    """

    @functools.wraps(view)
    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        token = token_of(request)
        with audit_via_token(name=token.name, token_id=token.pk):
            return view(request, *args, **kwargs)

    return run


class NoCookiesOnApiMiddleware:
    """Drops the Cookie header of /api/ requests before the session and CSRF middleware see it.

    The API authenticates by token only: a browser's session cookie never signs a request in there
    (so no API request needs a CSRF token, and none is held at the two-step sign-in or redirected to
    the sign-in page), while every other path keeps its cookies and CSRF checks as before.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        api = request.path_info.startswith(API_PREFIX)
        if api:
            request.META.pop("HTTP_COOKIE", None)
            request.COOKIES = {}
        if self.is_async:
            return self._async(request, api)
        response = self.get_response(request)
        return _no_store(response) if api else response

    async def _async(self, request: HttpRequest, api: bool) -> HttpResponseBase:
        response = await self.get_response(request)
        return _no_store(response) if api else response


def _no_store(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = "private, no-store"
    return response
