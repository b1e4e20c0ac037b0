from __future__ import annotations

from django.urls import URLPattern, path

from sessions_app import consumers
from sessions_app.converters import register_session_converter

register_session_converter()

websocket_urlpatterns: list[URLPattern] = [
    path("ws/instances/<session:session>/", consumers.InstanceConsumer.as_asgi()),
]
