from __future__ import annotations

from django.urls import re_path

from sessions_app import consumers

websocket_urlpatterns: list = [
    re_path(r"^ws/instances/(?P<session>[A-Za-z0-9_-]{1,64})/$", consumers.InstanceConsumer.as_asgi()),
]
