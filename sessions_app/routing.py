from __future__ import annotations

from django.urls import URLPattern, re_path

from sessions_app import consumers
from sessions_app.storage.base import SESSION_NAME_PATTERN

websocket_urlpatterns: list[URLPattern] = [
    re_path(rf"^ws/instances/(?P<session>{SESSION_NAME_PATTERN})/$", consumers.InstanceConsumer.as_asgi()),
]
