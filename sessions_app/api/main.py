"""The NinjaAPI at /api/v1/: bearer tokens only, errors in one shape, the OpenAPI document from the code.

The docs page (/api/v1/docs) is django-ninja's Swagger UI served from this site's static files
(ninja bundles them): no outside assets, and its one script is a file, so the CSP stays as it is.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, URLPattern, URLResolver, re_path, resolve
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Swagger
from ninja.throttling import AuthRateThrottle

from sessions_app.api import account, archive, instances, sessions, trails
from sessions_app.api.auth import BearerToken, audited_via_token
from sessions_app.api.errors import NO_SUCH_ENDPOINT, ApiError, error_response, install_error_handlers
from sessions_app.converters import register_session_converter

# `{session:session}` in the routes: the same SESSION rule as every page's URL (a bad one never resolves).
register_session_converter()

# Per token (ninja keys it on request.auth), in Django's cache: requests past the rate get 429 with Retry-After.
THROTTLE = AuthRateThrottle(settings.API_THROTTLE_RATE)

api = NinjaAPI(
    title="teleconnect API",
    version="1.0.0",
    description=(
        "Automation for teleconnect: a personal token (made on /account/tokens/) acts as its user, never "
        'with more than the user\'s role on each instance. Errors are {"error": sentence, "field": name-or-null}.'
    ),
    auth=BearerToken(),
    throttle=[THROTTLE],
    # Swagger UI would fetch a validity badge from validator.swagger.io: off, nothing comes from elsewhere.
    docs=Swagger(settings={"validatorUrl": None}),
    urls_namespace="api-v1",
)
install_error_handlers(api)
# "operation" mode: around the view itself, after the token was checked, so request.auth is the token.
api.add_decorator(audited_via_token, mode="operation")
api.add_router("/instances/", instances.router)
api.add_router("/instances/", sessions.router)
api.add_router("/instances/", account.router)
api.add_router("/instances/", archive.router)
api.add_router("/", trails.router)


def _open(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """Every API route skips LoginRequiredMiddleware: the token decides (401 as JSON), never a redirect."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _open(pattern.url_patterns)
        else:
            login_not_required(pattern.callback)
    return patterns


NO_SUCH_ENDPOINT_NAME = "no_such_endpoint"


@csrf_exempt  # as every API route: no cookies reach /api/ (NoCookiesOnApiMiddleware), and it changes nothing
def no_such_endpoint(request: HttpRequest, path: str) -> HttpResponse:
    """Any other path under /api/v1/: a 404 in the API's JSON shape, not the pages' HTML one.

    It also answers a path that lacks its final slash (no redirect: a POST would lose its body), saying so.
    """
    message = NO_SUCH_ENDPOINT
    if path and not path.endswith("/") and _is_endpoint(f"{request.path_info}/"):
        message += f" The API's paths end in a slash: {request.path}/"
    return error_response(api, request, ApiError(404, message))


def _is_endpoint(path: str) -> bool:
    try:
        return resolve(path).url_name != NO_SUCH_ENDPOINT_NAME
    except Resolver404:
        return False


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    patterns, app_name, namespace = api.urls
    # Last, so every route of the API matches first.
    catch_all = re_path(r"^(?P<path>.*)$", no_such_endpoint, name=NO_SUCH_ENDPOINT_NAME)
    return _open([*patterns, catch_all]), app_name, namespace
