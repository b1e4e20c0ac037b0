"""Refusals as `{"error", "field"}` with the pages' sentences: 400 a value, 409 the state, 429 wait."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from sessions_app.api import main
from sessions_app.api.errors import as_api_error
from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.errors import InstanceBusy
from sessions_app.storage import StoreError
from sessions_app.telegram.errors import FloodWait, TelegramUnreachable
from tests.api.conftest import Api, token_for
from tests.conftest import demo_session, log_in


def test_a_taken_session_is_a_400_on_its_field(telegram, owner_api, instance):
    response = owner_api.call("POST", "instances/", {"session": "prod-bot", "name": "Again"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "An instance with SESSION 'prod-bot' already exists. Pick another namespace.",
        "field": "session",
    }


def test_a_missing_field_or_bad_json_is_a_400(telegram, owner_api):
    missing = owner_api.call("POST", "instances/", {"session": "x-bot"})
    assert (missing.status_code, missing.json()["field"]) == (400, "name")
    broken = owner_api.client.post(
        "/api/v1/instances/",
        "{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {owner_api.token}"},
    )
    assert broken.status_code == 400
    assert broken.json()["error"]
    assert not ConnectorInstance.objects.exists()


def test_a_blank_name_is_a_400_and_changes_nothing(telegram, owner_api, instance):
    response = owner_api.call("PATCH", "instances/prod-bot/", {"name": "   "})
    assert response.status_code == 400
    assert response.json()["field"] == "name"
    instance.refresh_from_db()
    assert instance.name == "Production bot"


def test_deleting_a_live_session_is_refused_without_an_object_choice(telegram, owner_api, instance):
    log_in(instance)
    from sessions_app.services.sessions import session_save

    session_save(instance=instance, actor=None)
    refused = owner_api.call("DELETE", "instances/prod-bot/")
    assert refused.status_code == 409, refused.content
    assert refused.json()["error"].startswith("Not deleted")
    assert ConnectorInstance.objects.filter(session="prod-bot").exists()
    kept = owner_api.call("DELETE", "instances/prod-bot/", object="keep")
    assert kept.status_code == 200, kept.content
    assert kept.json() == {"session": "prod-bot", "object": "kept"}
    assert not ConnectorInstance.objects.filter(session="prod-bot").exists()


def test_an_unknown_object_choice_is_a_400(telegram, owner_api, instance):
    response = owner_api.call("DELETE", "instances/prod-bot/", object="burn")
    assert (response.status_code, response.json()["field"]) == (400, "object")
    assert ConnectorInstance.objects.filter(session="prod-bot").exists()


def test_a_key_another_instance_holds_is_a_409_on_the_string(telegram, owner, owner_api, instance):
    string = demo_session()
    assert owner_api.call("POST", "instances/prod-bot/import/", {"session_string": string}).status_code == 200
    owner_api.call("POST", "instances/", {"session": "twin", "name": "Twin"})
    response = owner_api.call("POST", "instances/twin/import/", {"session_string": string})
    assert response.status_code == 409, response.content
    assert response.json()["field"] == "session_string"
    assert string not in response.content.decode()
    assert ConnectorInstance.objects.get(session="twin").status == InstanceStatus.NEW


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (FloodWait(42), 429, 42),
        (InstanceBusy(), 409, None),
        (TelegramUnreachable("Telegram could not be reached."), 503, None),
        (StoreError("The store could not be read."), 503, None),
    ],
)
def test_the_apps_errors_get_their_status(error, status, retry_after):
    said = as_api_error(error)
    assert (said.status, said.retry_after) == (status, retry_after)
    assert said.message == error.message


def test_too_many_requests_with_one_token_get_429(telegram, owner, instance, monkeypatch):
    monkeypatch.setattr(main.THROTTLE, "num_requests", 2)
    cache.clear()
    script = Api(token_for(owner))
    try:
        responses = [script.call("GET", "instances/") for _ in range(3)]
        other = Api(token_for(owner, "other")).call("GET", "instances/")
    finally:
        cache.clear()
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert other.status_code == 200  # counted per token
    assert int(responses[2]["Retry-After"]) >= 1
    assert responses[2].json()["field"] is None


def test_a_body_past_the_upload_limit_is_a_413_and_nothing_is_read(telegram, owner_api, instance, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = owner_api.call("POST", "instances/prod-bot/import/", {"session_string": "1" + "A" * 5000})
    assert response.status_code == 413
    assert response.json()["field"] is None
    instance.refresh_from_db()
    assert instance.status == "new"


@pytest.mark.parametrize("path", ["nothing-here/", "instances/prod-bot/teleport/", "instances/BAD SESSION!/", "v2/x"])
def test_an_unknown_api_path_is_a_json_404(telegram, owner_api, instance, path):
    for method in ("GET", "POST"):
        response = owner_api.call(method, path)
        assert response.status_code == 404, (method, response.content)
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == {"error": "No such API endpoint.", "field": None}
        assert response["Cache-Control"] == "private, no-store"


def test_an_unknown_api_path_is_a_json_404_without_a_token_too(db):
    response = Api(None).call("GET", "nothing-here/")
    assert (response.status_code, response.json()) == (404, {"error": "No such API endpoint.", "field": None})


def test_a_path_without_its_final_slash_says_to_add_it(telegram, owner_api, instance):
    response = owner_api.call("POST", "instances", {"session": "x-bot", "name": "X"})
    assert response.status_code == 404
    assert response.json() == {
        "error": "No such API endpoint. The API's paths end in a slash: /api/v1/instances/",
        "field": None,
    }
    assert not ConnectorInstance.objects.filter(session="x-bot").exists()


def test_an_unknown_page_is_still_the_html_404(owner_client):
    response = owner_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"No such API endpoint" not in response.content
