"""ASGI entry point: HTTP through Django, websockets through Channels (authenticated)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teleconnect.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from sessions_app.consumers import NoRouteConsumer  # noqa: E402
from sessions_app.routing import websocket_urlpatterns  # noqa: E402

# Last: any other path is accepted and closed with 4404 instead of failing the handshake with a 500.
websocket_routes = [*websocket_urlpatterns, re_path(r"", NoRouteConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_routes))),
    }
)
