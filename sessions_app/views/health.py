from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sessions_app.crypto import UNREADABLE_BECAUSE, unreadable_secrets
from sessions_app.storage import get_session_storage


def _secrets() -> str:
    unreadable = len(unreadable_secrets())
    if not unreadable:
        return "ok"
    noun = "stored secret cannot" if unreadable == 1 else "stored secrets cannot"
    return f"error: {unreadable} {noun} be decrypted: {UNREADABLE_BECAUSE}"


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the database, the session store and the channel layer answer, and the stored secrets decrypt.

    Never shows a secret. Anonymous callers (load balancers) get the store's problem in a few
    words; staff also get the store's own sentence, which names its directory or bucket.
    """
    detailed = request.user.is_authenticated and request.user.is_staff
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a health probe reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["secrets"] = _secrets() if checks["database"] == "ok" else "error: not checked (no database)"
    except Exception as exc:  # noqa: BLE001
        checks["secrets"] = f"error: {type(exc).__name__}"
    try:
        store = get_session_storage()
        ping = getattr(store, "ping", None)
        if ping is not None:
            ping()
        checks["store"] = "ok"
    except Exception as exc:  # noqa: BLE001
        reason = getattr(exc, "message", "") if detailed else getattr(exc, "reason", "")
        checks["store"] = f"error: {reason or type(exc).__name__}"
    try:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)("healthz", {"type": "healthz.ping"})
        checks["channel_layer"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["channel_layer"] = f"error: {type(exc).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
