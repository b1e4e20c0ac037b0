"""Bulk actions from the list: each selected row is checked or archived where the role allows, refused per row otherwise."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from sessions_app.models import ArchiveRun, AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.models_health import HealthCheck
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.sessions import session_save
from tests.conftest import client_for, log_in

pytestmark = pytest.mark.django_db
BULK = "/instances/bulk/"


@pytest.fixture
def second(instance, owner, viewer):
    """Another instance on which the operator of `instance` has no role and the viewer stays viewer."""
    other = ConnectorInstance.objects.create(session="side-bot", name="Side bot", created_by=owner)
    Membership.objects.create(user=owner, instance=other, role=Role.OWNER)
    Membership.objects.create(user=viewer, instance=other, role=Role.VIEWER)
    return other


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_it_checks_every_selected_instance_the_operator_may_operate(telegram, owner_client, instance, second):
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot", "side-bot"]})
    assert response.status_code == 302 and response["Location"] == "/"
    assert HealthCheck.objects.filter(instance=instance, trigger="web").count() == 1
    assert HealthCheck.objects.filter(instance=second, trigger="web").count() == 1
    messages = said(response)
    assert messages[0] == "Check now: done on 2 of 2 selected instances."
    assert "prod-bot: checked: nothing to watch." in messages


def test_a_row_the_role_does_not_allow_is_refused_with_its_own_sentence_and_audited(
    telegram, operator, instance, second, viewer
):
    Membership.objects.filter(user=viewer, instance=second).update(user=operator)  # operator is viewer of side-bot
    response = client_for(operator).post(BULK, {"action": "check", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    assert messages[0] == "Check now: done on 1 of 2 selected instances."
    assert "side-bot: not checked: This needs the operator role on side-bot; you are viewer." in messages
    assert HealthCheck.objects.filter(instance=instance).count() == 1
    assert not HealthCheck.objects.filter(instance=second).exists()
    refused = AuditEvent.objects.get(session="side-bot", outcome="refused")
    assert refused.action == "health.check" and refused.detail == {"bulk": True, "refusal": "RoleTooLow"}
    assert audit_sentence(refused) == "oscar checked the health of side-bot (refused)"


def test_a_viewer_gets_every_row_refused_and_nothing_runs(telegram, viewer, instance, second):
    response = client_for(viewer).post(BULK, {"action": "archive", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    assert messages[0] == "Archive now: done on 0 of 2 selected instances."
    assert "prod-bot: no archive run started: This needs the operator role on prod-bot; you are viewer." in messages
    assert not ArchiveRun.objects.exists()


def test_unknown_and_unseeable_sessions_read_the_same_as_not_found(telegram, operator, instance, second):
    response = client_for(operator).post(BULK, {"action": "check", "session": ["side-bot", "no-such-bot"]})
    messages = said(response)
    assert "side-bot: no such instance, or you have no role on it." in messages
    assert "no-such-bot: no such instance, or you have no role on it." in messages
    assert not HealthCheck.objects.exists()
    assert not AuditEvent.objects.filter(session="side-bot").exists()  # nothing about an instance they cannot see


def test_it_queues_an_archive_run_where_it_can_and_says_why_not_elsewhere(telegram, owner_client, instance, second):
    log_in(instance)
    session_save(instance=instance, actor=None)
    response = owner_client.post(BULK, {"action": "archive", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    run = ArchiveRun.objects.get(instance=instance)
    assert f"prod-bot: archive run {run.pk} queued." in messages
    assert any(m.startswith("side-bot: no archive run started: This instance has no working session") for m in messages)
    assert AuditEvent.objects.filter(session="prod-bot", action="archive.start", outcome="ok").exists()
    assert AuditEvent.objects.filter(session="side-bot", action="archive.start", outcome="refused").exists()


def test_a_second_archive_while_one_is_queued_is_refused_for_that_row(telegram, owner_client, instance):
    log_in(instance)
    owner_client.post(BULK, {"action": "archive", "session": ["prod-bot"]})
    response = owner_client.post(BULK, {"action": "archive", "session": ["prod-bot"]})
    assert any("already queued" in m for m in said(response))
    assert ArchiveRun.objects.filter(instance=instance).count() == 1


def test_a_session_selected_twice_runs_once(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot", "prod-bot"]})
    assert HealthCheck.objects.filter(instance=instance).count() == 1


def test_nothing_selected_or_too_many_or_no_action_does_nothing(telegram, owner_client, instance):
    assert said(owner_client.post(BULK, {"action": "check"})) == [
        "Select at least one instance (tick its box in the list), then choose the action."
    ]
    too_many = [f"bot-{i}" for i in range(101)]
    assert "Select at most 100 instances" in said(owner_client.post(BULK, {"action": "check", "session": too_many}))[-1]
    no_action = said(owner_client.post(BULK, {"action": "delete", "session": ["prod-bot"]}))
    assert no_action[-1] == "Choose an action: Check now or Archive now."
    assert not HealthCheck.objects.exists()


def test_it_returns_to_the_list_as_it_was_and_nowhere_else(telegram, owner_client, instance):
    back = "?q=prod&status=active&sort=-name&page=2"
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"], "back": back})
    assert response["Location"] == "/?q=prod&status=active&sort=-name&page=2"
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"], "back": "//evil.example/?next=x"})
    assert response["Location"] == "/"


def test_it_takes_only_post(owner_client):
    assert owner_client.get(BULK).status_code == 405
