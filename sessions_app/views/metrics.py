"""/metrics: the Prometheus text format, for a scraper holding METRICS_TOKEN."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from sessions_app.selectors.metrics import FleetCollector


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@login_not_required  # a scraper has no dashboard sign-in: the bearer token is its credential
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The fleet's metrics, read from the database now; 404 while METRICS_TOKEN is unset, 401 without it.

    The token is compared in constant time. 401 (not 404) for a missing or wrong token, so a scrape
    target shows "unauthorized" and the operator knows to look at the token rather than at the URL.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404("Metrics are off: set METRICS_TOKEN to turn them on.")
    if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
        response = HttpResponse("A valid METRICS_TOKEN is needed: Authorization: Bearer <token>.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The collector alone, not prometheus_client's default registry: its process and GC metrics
    # would differ from one process to the next.
    return HttpResponse(generate_latest(FleetCollector()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
