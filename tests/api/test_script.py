"""The script the issue asks for: with a token, create an instance, import a string, verify it, read its health."""

from __future__ import annotations

import json

from sessions_app.models import AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.selectors.audit_sentences import audit_sentence
from tests.conftest import demo_session


def test_a_script_creates_imports_verifies_and_reads_health(telegram, owner_api):
    created = owner_api.call("POST", "instances/", {"session": "ci-bot", "name": "CI bot"})
    assert created.status_code == 201, created.content
    assert created.json() == {
        "session": "ci-bot",
        "name": "CI bot",
        "status": "new",
        "reason": "",
        "health": {"result": "unknown", "checked_at": None, "reason": ""},
        "account": {"name": "", "username": ""},
    }
    string = demo_session()
    imported = owner_api.call("POST", "instances/ci-bot/import/", {"session_string": string})
    assert imported.status_code == 200, imported.content
    assert imported.json()["status"] == "active"
    assert imported.json()["account"]["name"] == "Ada Demo"

    verified = owner_api.call("POST", "instances/ci-bot/verify/")
    assert verified.status_code == 200, verified.content
    assert verified.json()["result"] == "alive"

    checked = owner_api.call("POST", "instances/ci-bot/check/")
    assert checked.status_code == 200, checked.content
    health = owner_api.call("GET", "instances/ci-bot/health/")
    assert health.status_code == 200
    assert health.json()["result"] == checked.json()["result"] == "healthy"
    assert health.json()["checked_at"] is not None

    everything = b"".join(r.content for r in (created, imported, verified, checked, health))
    assert string.encode() not in everything
    assert ConnectorInstance.objects.get(session="ci-bot").session_string == string


def test_the_instance_is_owned_by_the_tokens_user(telegram, owner, owner_api):
    owner_api.call("POST", "instances/", {"session": "ci-bot", "name": "CI bot"})
    assert Membership.objects.get(instance__session="ci-bot").user == owner
    assert Membership.objects.get(instance__session="ci-bot").role == Role.OWNER


def test_every_write_is_audited_as_the_user_naming_the_token(telegram, owner, owner_api):
    owner_api.call("POST", "instances/", {"session": "ci-bot", "name": "CI bot"})
    owner_api.call("PATCH", "instances/ci-bot/", {"name": "CI bot 2"})
    owner_api.call("DELETE", "instances/ci-bot/")
    events = list(AuditEvent.objects.filter(action="api.write").order_by("id"))
    assert [(e.actor, e.detail["token"], e.detail["target"], e.outcome) for e in events] == [
        (owner, "deploy", "ci-bot", "ok"),
        (owner, "deploy", "ci-bot", "ok"),
        (owner, "deploy", "ci-bot", "ok"),
    ]
    assert [audit_sentence(e) for e in events] == [
        "olivia used the API token “deploy” to create the instance ci-bot",
        "olivia used the API token “deploy” to rename the instance ci-bot",
        "olivia used the API token “deploy” to delete the instance ci-bot",
    ]
    # The services' own events are there too, as the user.
    assert AuditEvent.objects.filter(action="instance.create", actor=owner, detail__name="CI bot").exists()


def test_a_refused_write_is_audited_naming_the_token(telegram, owner, owner_api):
    response = owner_api.call("POST", "instances/", {"session": "new", "name": "Shadow"})
    assert response.status_code == 400
    assert response.json()["field"] == "session"
    event = AuditEvent.objects.get(action="api.write")
    assert (event.actor, event.outcome, event.detail["token"], event.detail["status"]) == (
        owner,
        "refused",
        "deploy",
        400,
    )
    assert audit_sentence(event) == "olivia used the API token “deploy” to create the instance new (refused)"


def test_the_list_searches_filters_and_pages(telegram, owner, owner_api):
    for n in range(3):
        owner_api.call("POST", "instances/", {"session": f"bot-{n}", "name": f"Bot {n}"})
    owner_api.call("POST", "instances/", {"session": "other", "name": "Other"})
    listed = owner_api.call("GET", "instances/", q="bot")
    assert listed.status_code == 200
    assert [i["session"] for i in listed.json()["items"]] == ["bot-0", "bot-1", "bot-2"]
    assert (listed.json()["page"], listed.json()["pages"], listed.json()["count"]) == (1, 1, 3)
    assert owner_api.call("GET", "instances/", status="active").json()["count"] == 0
    assert owner_api.call("GET", "instances/", status="new").json()["count"] == 4
    assert owner_api.call("GET", "instances/", page="9").json()["page"] == 1


def test_an_unknown_status_filter_is_a_400_naming_the_field(telegram, owner_api):
    response = owner_api.call("GET", "instances/", status="sleepy")
    assert response.status_code == 400
    assert response.json()["field"] == "status"
    assert json.loads(response.content)["error"]


def test_the_import_refuses_a_malformed_string_next_to_its_field(telegram, owner_api, instance):
    response = owner_api.call("POST", "instances/prod-bot/import/", {"session_string": "1abc"})
    assert response.status_code == 400
    assert response.json()["field"] == "session_string"
    instance.refresh_from_db()
    assert instance.status == "new"


def test_the_audit_page_says_api_events_in_words(telegram, owner, owner_api):
    from tests.conftest import client_for

    owner_api.call("POST", "instances/", {"session": "ci-bot", "name": "CI bot"})
    client_for(owner).post("/account/tokens/", {"name": "laptop", "expires_days": "7"})
    page = client_for(owner).get("/audit/").content.decode()
    assert "olivia used the API token “deploy” to create the instance ci-bot" in page
    assert "olivia made the API token “laptop”" in page
    assert "a change through an API token" in page  # the filter menu's words
    assert "api.write" not in page.replace('value="api.write"', "")


def test_a_refused_import_never_echoes_or_logs_the_string(telegram, owner_api, instance, caplog):
    from sessions_app.telegram.account import log_out
    from sessions_app.telegram.client import default_credentials

    string = demo_session()
    log_out(session=string, api=default_credentials())
    with caplog.at_level("DEBUG"):
        response = owner_api.call(
            "POST", "instances/prod-bot/import/", {"session_string": string, "password": "pw-secret"}
        )
    assert response.status_code in (400, 409), response.content
    assert response.json()["error"]
    for said in (response.content.decode(), caplog.text):
        assert string not in said and "pw-secret" not in said
