"""A SESSION that a route takes under /instances/ would hide the instance's pages: refused at creation."""

from __future__ import annotations

import pytest

from sessions_app.converters import reserved_session_names
from sessions_app.models import ConnectorInstance
from sessions_app.services.instances import SessionNameReserved, instance_create
from tests.conftest import client_for


def test_every_word_a_route_takes_under_instances_is_reserved():
    from sessions_app import urls

    words = set()
    for pattern in urls.urlpatterns:
        route = str(getattr(pattern, "pattern", ""))
        first = route.removeprefix("instances/").split("/", 1)[0] if route.startswith("instances/") else ""
        if first and "<" not in first:
            words.add(first)
    assert {"new", "bulk"} <= words <= reserved_session_names()
    assert "prod-bot" not in reserved_session_names()


@pytest.mark.parametrize("word", ["new", "bulk"])
def test_the_form_refuses_a_route_word_with_a_sentence(owner, word):
    response = client_for(owner).post("/instances/new/", {"session": word, "name": "Shadowed"})
    assert response.status_code == 400
    assert f"/instances/{word}/ for a page of its own" in response.content.decode()
    assert not ConnectorInstance.objects.filter(session=word).exists()


def test_the_service_refuses_a_route_word_too(owner):
    with pytest.raises(SessionNameReserved):
        instance_create(actor=owner, session="bulk", name="Shadowed")
    assert not ConnectorInstance.objects.exists()


def test_a_name_that_only_starts_like_a_route_word_is_fine(owner):
    response = client_for(owner).post("/instances/new/", {"session": "new-bot", "name": "Fine"})
    assert response.status_code == 302
    assert ConnectorInstance.objects.filter(session="new-bot").exists()
