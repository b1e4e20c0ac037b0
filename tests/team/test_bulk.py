"""Bulk actions from the list: each selected row is checked or archived where the role allows, refused per row otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from sessions_app.models import ArchiveRun, AuditEvent, ConnectorInstance, Membership, Role
from sessions_app.models_health import HealthCheck, InstanceHealth
from sessions_app.selectors.audit_sentences import audit_sentence
from sessions_app.services.sessions import session_save
from sessions_app.tasks import check_instance_task
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


def queued_checks(instance=None) -> list[DBTaskResult]:
    """The check tasks waiting for the worker (of one instance, or all), oldest first."""
    rows = DBTaskResult.objects.filter(task_path=check_instance_task.module_path, status=TaskResultStatus.READY)
    if instance is not None:
        rows = rows.filter(args_kwargs__args__0=instance.pk)
    return list(rows.order_by("enqueued_at"))


def work(row: DBTaskResult) -> str:
    """What the worker does with a queued row: call its task with the arguments it was queued with."""
    result: str = row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
    return result


def test_it_queues_one_check_per_selected_instance_and_checks_none_in_the_request(
    telegram, owner, owner_client, instance, second
):
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot", "side-bot"]})
    assert response.status_code == 302 and response["Location"] == "/"
    assert [row.args_kwargs["args"] for row in queued_checks()] == [[instance.pk, owner.pk], [second.pk, owner.pk]]
    assert not HealthCheck.objects.exists()
    messages = said(response)
    assert messages[0] == "Check now: queued on 2 of 2 selected instances."
    assert "prod-bot: check queued; results show in the list as they finish." in messages
    assert "side-bot: check queued; results show in the list as they finish." in messages
    queued = AuditEvent.objects.get(session="prod-bot", action="health.queue")
    assert queued.outcome == "ok" and queued.detail == {"bulk": True, "task": str(queued_checks(instance)[0].id)}
    assert audit_sentence(queued) == "olivia queued a health check of prod-bot"


def test_the_queued_check_runs_the_check_of_check_now_for_the_person_who_asked(telegram, operator, instance):
    log_in(instance)
    client_for(operator).post(BULK, {"action": "check", "session": ["prod-bot"]})
    (row,) = queued_checks(instance)
    assert work(row) == "healthy"
    check = HealthCheck.objects.get(instance=instance)
    assert check.actor == operator and check.trigger == "web" and check.result == "healthy"
    changed = AuditEvent.objects.get(session="prod-bot", action="health.change")
    assert changed.actor == operator and changed.detail["to"] == "healthy"
    assert InstanceHealth.objects.get(instance=instance).state == "healthy"


def test_the_queued_check_of_an_instance_deleted_meanwhile_ends_quietly(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    (row,) = queued_checks(instance)
    instance.delete()
    assert work(row) == "instance gone"
    assert not HealthCheck.objects.exists()


def test_the_queued_check_ends_quietly_when_another_check_of_the_instance_is_running(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    (row,) = queued_checks(instance)
    InstanceHealth.objects.create(instance=instance, claimed_until=timezone.now() + timedelta(minutes=1))
    assert work(row) == "another check was running"
    assert not HealthCheck.objects.exists()


def test_a_second_check_while_one_is_queued_is_reported_as_already_queued(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    owner_client.get("/")  # the list shows (and so clears) the first click's messages
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    messages = said(response)
    assert messages[0] == "Check now: queued on 0 of 1 selected instance."
    assert (
        "prod-bot: not checked: A check of this instance is already queued; its result shows in the list "
        in (messages[1])
    )
    assert len(queued_checks(instance)) == 1
    refused = AuditEvent.objects.get(session="prod-bot", action="health.check", outcome="refused")
    assert refused.detail == {"bulk": True, "refusal": "CheckQueued"}


def test_a_check_is_queued_again_once_the_queued_one_has_run(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    DBTaskResult.objects.update(status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now())
    owner_client.get("/")
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    assert said(response)[0] == "Check now: queued on 1 of 1 selected instance."
    assert len(queued_checks(instance)) == 1


def test_a_check_left_running_by_a_dead_worker_does_not_block_a_new_one(telegram, owner_client, instance):
    owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]})
    long_ago = timezone.now() - timedelta(hours=1)
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=long_ago)
    owner_client.get("/")
    assert said(owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]}))[0].startswith(
        "Check now: queued on 1 of 1"
    )
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(
        status=TaskResultStatus.RUNNING, started_at=timezone.now()
    )
    owner_client.get("/")
    assert said(owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]}))[0].startswith(
        "Check now: queued on 0 of 1"
    )


def test_a_row_being_checked_right_now_is_not_queued(telegram, owner_client, instance):
    InstanceHealth.objects.create(instance=instance, claimed_until=timezone.now() + timedelta(minutes=1))
    messages = said(owner_client.post(BULK, {"action": "check", "session": ["prod-bot"]}))
    assert "prod-bot: not checked: A check of this instance is running right now" in messages[1]
    assert not queued_checks()


def test_a_row_the_role_does_not_allow_is_refused_with_its_own_sentence_and_audited(
    telegram, operator, instance, second, viewer
):
    Membership.objects.filter(user=viewer, instance=second).update(user=operator)  # operator is viewer of side-bot
    response = client_for(operator).post(BULK, {"action": "check", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    assert messages[0] == "Check now: queued on 1 of 2 selected instances."
    assert "side-bot: not checked: This needs the operator role on side-bot; you are viewer." in messages
    assert len(queued_checks(instance)) == 1
    assert not queued_checks(second)
    refused = AuditEvent.objects.get(session="side-bot", outcome="refused")
    assert refused.action == "health.check" and refused.detail == {"bulk": True, "refusal": "RoleTooLow"}
    assert audit_sentence(refused) == "oscar checked the health of side-bot (refused)"


def test_a_viewer_gets_every_row_refused_and_nothing_runs(telegram, viewer, instance, second):
    response = client_for(viewer).post(BULK, {"action": "archive", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    assert messages[0] == "Archive now: queued on 0 of 2 selected instances."
    assert "prod-bot: no archive run started: This needs the operator role on prod-bot; you are viewer." in messages
    assert not ArchiveRun.objects.exists()


def test_a_viewer_gets_no_check_queued_and_each_row_refused_and_audited(telegram, viewer, instance, second):
    response = client_for(viewer).post(BULK, {"action": "check", "session": ["prod-bot", "side-bot"]})
    messages = said(response)
    assert messages[0] == "Check now: queued on 0 of 2 selected instances."
    assert "prod-bot: not checked: This needs the operator role on prod-bot; you are viewer." in messages
    assert "side-bot: not checked: This needs the operator role on side-bot; you are viewer." in messages
    assert not queued_checks() and not AuditEvent.objects.filter(action="health.queue").exists()
    assert AuditEvent.objects.filter(action="health.check", outcome="refused").count() == 2


def test_unknown_and_unseeable_sessions_read_the_same_as_not_found(telegram, operator, instance, second):
    response = client_for(operator).post(BULK, {"action": "check", "session": ["side-bot", "no-such-bot"]})
    messages = said(response)
    assert "side-bot: no such instance, or you have no role on it." in messages
    assert "no-such-bot: no such instance, or you have no role on it." in messages
    assert not queued_checks()
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


def test_a_session_selected_twice_is_queued_once(telegram, owner_client, instance):
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot", "prod-bot"]})
    assert said(response)[0] == "Check now: queued on 1 of 1 selected instance."
    assert len(queued_checks(instance)) == 1


def test_nothing_selected_or_too_many_or_no_action_does_nothing(telegram, owner_client, instance):
    assert said(owner_client.post(BULK, {"action": "check"})) == [
        "Select at least one instance (tick its box in the list), then choose the action."
    ]
    too_many = [f"bot-{i}" for i in range(101)]
    assert "Select at most 100 instances" in said(owner_client.post(BULK, {"action": "check", "session": too_many}))[-1]
    no_action = said(owner_client.post(BULK, {"action": "delete", "session": ["prod-bot"]}))
    assert no_action[-1] == "Choose an action: Check now or Archive now."
    assert not queued_checks()


def test_it_returns_to_the_list_as_it_was_and_nowhere_else(telegram, owner_client, instance):
    back = "?q=prod&status=active&sort=-name&page=2"
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"], "back": back})
    assert response["Location"] == "/?q=prod&status=active&sort=-name&page=2"
    response = owner_client.post(BULK, {"action": "check", "session": ["prod-bot"], "back": "//evil.example/?next=x"})
    assert response["Location"] == "/"


def test_it_takes_only_post(owner_client):
    assert owner_client.get(BULK).status_code == 405
