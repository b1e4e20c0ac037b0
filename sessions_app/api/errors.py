"""The API's errors: one JSON shape, `{"error": sentence, "field": name-or-null}`, and their status codes.

The sentences are the pages' own (the services' refusals and Telegram's errors in words); only the
status says the kind: 400 a value to fix, 401 no usable token, 403 a role too low, 404 nothing the
token's user may see, 409 not in the instance's current state, 429 wait (Retry-After), 503 the
store or Telegram could not be reached.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

from sessions_app.services.errors import ActionRefused, KeyInUse
from sessions_app.services.instance_admin import InstanceGone
from sessions_app.services.instances import InstanceExists
from sessions_app.storage import StoreConflict, StoreError
from sessions_app.telegram.errors import FloodWait, TakeoutInitDelay, TelegramError, TelegramUnreachable

UNAUTHORIZED = (
    "Send a valid API token as “Authorization: Bearer <token>”: this one is missing, unknown, expired or revoked. "
    "Make one on /account/tokens/."
)
TOO_BIG = (
    "The body is far bigger than anything this API takes (a session string is about 350 characters). Nothing was read."
)
NOT_FOUND = "No such instance, or your token's user has no role on it."
NO_SUCH_ENDPOINT = "No such API endpoint."
# Refusals that name a field but are about what already exists, not about the value's form.
_CONFLICTS: tuple[type[ActionRefused], ...] = (InstanceExists, KeyInUse)


class ErrorOut(Schema):
    error: str
    field: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.retry_after = status, message, field, retry_after


def refusal_status(refusal: ActionRefused) -> int:
    if isinstance(refusal, InstanceGone):
        return 404
    if refusal.field and not isinstance(refusal, _CONFLICTS):
        return 400
    return 409


def as_api_error(error: Exception) -> ApiError:
    """The app's exception as the API says it; anything else is not ours to translate."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ActionRefused):
        return ApiError(refusal_status(error), error.message, error.field)
    if isinstance(error, (FloodWait, TakeoutInitDelay)):
        return ApiError(429, error.message, error.field, retry_after=error.seconds)
    if isinstance(error, TelegramUnreachable):
        return ApiError(503, error.message, error.field)
    if isinstance(error, TelegramError):
        return ApiError(400 if error.field else 409, error.message, error.field)
    if isinstance(error, StoreConflict):
        return ApiError(409, error.message)
    if isinstance(error, StoreError):
        return ApiError(503, error.message)
    raise TypeError(f"not an app error: {type(error).__name__}")


def error_response(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    response = api.create_response(request, {"error": error.message, "field": error.field}, status=error.status)
    if error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="teleconnect"'
    return response


def _validation_error(exc: ValidationError) -> ApiError:
    first = exc.errors[0] if exc.errors else {}
    location = [str(part) for part in first.get("loc", ())]
    field = location[-1] if len(location) > 1 and location[-1] not in ("body", "payload") else None
    said = str(first.get("msg", "The request is not valid JSON of the expected shape."))
    return ApiError(400, f"{field}: {said}" if field else said, field)


def _http_error(exc: HttpError) -> ApiError:
    if isinstance(exc.__cause__, RequestDataTooBig):
        return ApiError(
            413, "The body is far bigger than anything this API takes (a session string is about 350 characters)."
        )
    if exc.status_code == 400:  # the only one ninja raises itself: a body it cannot parse
        return ApiError(400, "The body is not valid JSON: send one JSON object with Content-Type: application/json.")
    return ApiError(exc.status_code, exc.message)


def install_error_handlers(api: NinjaAPI) -> None:
    def app_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(api, request, as_api_error(exc))

    def unauthorized(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(api, request, ApiError(401, UNAUTHORIZED))

    def invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(api, request, _validation_error(exc))

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(api, request, _http_error(exc))

    def throttled(request: HttpRequest, exc: Any) -> HttpResponse:
        wait = max(int(getattr(exc, "wait", 0) or 0), 1)
        return error_response(
            api,
            request,
            ApiError(429, "Too many requests with this token: wait a little and try again.", retry_after=wait),
        )

    def too_big(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(api, request, ApiError(413, TOO_BIG))

    for kind in (ApiError, ActionRefused, TelegramError, StoreError):
        api.add_exception_handler(kind, app_error)
    api.add_exception_handler(AuthenticationError, unauthorized)
    api.add_exception_handler(ValidationError, invalid)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Throttled, throttled)
    api.add_exception_handler(RequestDataTooBig, too_big)
