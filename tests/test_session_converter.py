"""The SESSION in a URL: one converter built from SESSION_NAME_PATTERN, in every route that takes one."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse

from sessions_app.converters import SessionConverter
from sessions_app.routing import websocket_urlpatterns
from sessions_app.storage.base import SESSION_NAME_PATTERN
from tests.conftest import client_for

MALFORMED = ["bad.name", "bad%20name", "x" * 65, "caf%C3%A9", "a+b", "~owner"]


def _routes(patterns, prefix: str = "") -> list[tuple[str, URLPattern]]:
    found: list[tuple[str, URLPattern]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            found.append((prefix + str(pattern.pattern), pattern))
    return found


def test_the_converter_is_the_session_name_rule():
    assert SessionConverter.regex == SESSION_NAME_PATTERN


def test_every_route_with_a_session_takes_it_through_the_converter():
    routes = _routes(get_resolver().url_patterns) + _routes(websocket_urlpatterns)
    with_session = [(route, pattern) for route, pattern in routes if "session" in route.replace("sessions_app", "")]
    assert len(with_session) > 25
    for route, pattern in with_session:
        assert "<session:session>" in route, route
        assert isinstance(pattern.pattern.converters["session"], SessionConverter), route


def test_every_instance_route_names_a_session_except_the_collection_ones():
    instance_routes = [route for route, _ in _routes(get_resolver().url_patterns) if route.startswith("instances/")]
    fixed = {route for route in instance_routes if "<session:session>" not in route}
    assert {"instances/new/", "instances/bulk/"} <= fixed
    assert fixed <= {"instances/new/", "instances/bulk/", "instances/discover/", "instances/bulk-import/"}


@pytest.mark.parametrize("session", MALFORMED)
def test_a_malformed_session_does_not_resolve(session):
    for suffix in ("", "login/", "login/qr/", "archive/", "archive/search/"):
        with pytest.raises(Resolver404):
            resolve(f"/instances/{session}/{suffix}")


@pytest.mark.parametrize("session", ["bad.name", "x" * 65])
def test_a_malformed_session_answers_404_to_a_team_admin(admin_user, session):
    client = client_for(admin_user)
    assert client.get(f"/instances/{session}/").status_code == 404
    assert client.post(f"/instances/{session}/login/", {"phone": "+9996621001"}).status_code == 404


def test_a_malformed_session_cannot_be_reversed():
    with pytest.raises(NoReverseMatch):
        reverse("instance_detail", kwargs={"session": "bad.name"})


@pytest.mark.parametrize("session", ["prod-bot", "a", "A_b-9", "x" * 64])
def test_a_valid_session_reverses_and_resolves_back(session):
    url = reverse("instance_login_qr", kwargs={"session": session})
    assert url == f"/instances/{session}/login/qr/"
    assert resolve(url).kwargs == {"session": session}
