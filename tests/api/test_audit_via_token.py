"""Every event a request through an API token records names the token, the services' own events included."""

from __future__ import annotations

from sessions_app.models import AuditEvent
from sessions_app.models_api import ApiToken
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.audit import audit_record, audit_via_token
from sessions_app.services.audit_chain import audit_hash
from tests.conftest import demo_session


def _service_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.exclude(action__in=["api.write", "api_token.create"]).order_by("id"))


def test_an_import_check_and_rename_through_the_api_name_the_token(telegram, owner, owner_api, instance):
    token = ApiToken.objects.get(user=owner, name="deploy")
    assert owner_api.call("POST", "instances/prod-bot/import/", {"session_string": demo_session()}).status_code == 200
    assert owner_api.call("POST", "instances/prod-bot/check/").status_code == 200
    assert owner_api.call("PATCH", "instances/prod-bot/", {"name": "Sales bot"}).status_code == 200

    events = _service_events()
    actions = {event.action for event in events}
    assert {"login.import", "session.save", "health.change", "instance.rename"} <= actions
    assert all(
        (e.actor, e.detail["api_token"], e.detail["api_token_id"]) == (owner, "deploy", token.pk) for e in events
    )
    renamed = next(event for event in events if event.action == "instance.rename")
    assert audit_sentence(renamed) == (
        "olivia renamed prod-bot from 'Production bot' to 'Sales bot' with the API token “deploy”"
    )


def test_the_api_write_event_names_its_token_once(telegram, owner_api, instance):
    owner_api.call("PATCH", "instances/prod-bot/", {"name": "Sales bot"})
    event = AuditEvent.objects.get(action="api.write")
    assert audit_sentence(event) == "olivia used the API token “deploy” to rename the instance prod-bot"


def test_a_page_action_by_the_same_user_does_not_name_a_token(telegram, owner, owner_api, owner_client, instance):
    owner_api.call("POST", "instances/prod-bot/check/")
    response = owner_client.post("/instances/prod-bot/rename/", {"name": "Sales bot"})
    assert response.status_code == 302
    renamed = AuditEvent.objects.get(action="instance.rename")
    assert renamed.actor == owner
    assert "api_token" not in renamed.detail and "api_token_id" not in renamed.detail
    assert audit_sentence(renamed) == "olivia renamed prod-bot from 'Production bot' to 'Sales bot'"


def test_the_token_is_named_only_inside_the_block(owner, instance):
    with audit_via_token(name="deploy", token_id=7):
        inside = audit_record(instance=instance, actor=owner, action="session.verify")
    after = audit_record(instance=instance, actor=owner, action="session.verify")
    assert (inside.detail["api_token"], inside.detail["api_token_id"]) == ("deploy", 7)
    assert after.detail == {}
    # The token's name is part of what the chain hashes: it cannot be edited out unnoticed.
    inside.detail = {}
    assert audit_hash(inside) != inside.hash
