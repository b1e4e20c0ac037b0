"""The API's cast: a token per user of the small cast, and a client that speaks JSON with a bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sessions_app.services.api_tokens import api_token_create


class Api:
    """JSON in and out with `Authorization: Bearer <token>` (or none), through Django's test client."""

    def __init__(self, token: str | None, client: Client | None = None) -> None:
        self.token = token
        self.client = client or Client(enforce_csrf_checks=True)

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        url = "/api/v1/" + path.lstrip("/")
        if method == "GET":
            return self.client.get(url, query, headers=headers)
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, url, data, content_type="application/json", headers=headers)


def token_for(user: Any, name: str = "script", expires_days: int | None = 30) -> str:
    return api_token_create(user=user, name=name, expires_days=expires_days).secret


@pytest.fixture
def owner_api(owner):
    return Api(token_for(owner, "deploy"))


@pytest.fixture
def operator_api(operator):
    return Api(token_for(operator))


@pytest.fixture
def viewer_api(viewer):
    return Api(token_for(viewer))


@pytest.fixture
def outsider_api(outsider):
    return Api(token_for(outsider))
