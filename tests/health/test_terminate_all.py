"""Terminate all sessions from the owner's phone: every key of the account answers SESSION_REVOKED.

The dashboard's key is the one that meets it (the connector's is never touched from here), and the
rule is that the connector's session went with it: the instance says who ended it, and the health
monitor alerts connector_gone once. A revoke by the team still alerts nothing.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from sessions_app.models import AuditEvent, InstanceStatus
from sessions_app.models_health import Health, InstanceHealth
from sessions_app.services.health.check import health_check
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.revoke import session_revoke
from sessions_app.services.sessions import session_save
from sessions_app.telegram.errors import ALL_SESSIONS_TERMINATED
from tests.conftest import ADA, client_for, log_in


def _alerts(receiver) -> list[str]:
    alerts_deliver_due()
    return [hook["event"] for hook in receiver.received]


def test_terminate_all_from_the_phone_marks_the_connector_gone_and_alerts_once(saved, telegram, receiver):
    health_check(instance=saved)
    assert _alerts(receiver) == []

    ended = telegram.terminate_all_from_phone(ADA)
    assert ended == 3  # the connector's, the dashboard's and the demo desktop; the phone stays
    assert not telegram.is_authorized(saved.session_string)

    health_check(instance=saved)
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED
    assert saved.last_error == ALL_SESSIONS_TERMINATED
    assert not saved.dashboard_session  # the dashboard's key died with it and is forgotten
    health = InstanceHealth.objects.get(instance=saved)
    assert health.state == Health.CONNECTOR_GONE
    assert health.reason == ALL_SESSIONS_TERMINATED
    assert _alerts(receiver) == ["connector_gone"]
    assert receiver.received[0]["reason"] == ALL_SESSIONS_TERMINATED
    assert len(mail.outbox) == 1

    for _ in range(3):  # later checks find the same: no second alert, no "dashboard key lost"
        health_check(instance=saved)
    assert _alerts(receiver) == ["connector_gone"]
    assert InstanceHealth.objects.get(instance=saved).state == Health.CONNECTOR_GONE


def test_the_instance_page_says_who_ended_the_session(saved, telegram, owner):
    telegram.terminate_all_from_phone(ADA)
    page = client_for(owner).get(f"/instances/{saved.session}/authorizations/").content.decode()
    assert "All sessions were terminated from another device of the account" in page
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED
    detail = client_for(owner).get(f"/instances/{saved.session}/").content.decode()
    assert detail.count("All sessions were terminated from another device of the account") == 1  # one status line


def test_a_single_terminated_dashboard_key_leaves_the_connector_alone(saved, telegram, receiver):
    telegram.terminate(saved.dashboard_authorization_hash)  # AUTH_KEY_UNREGISTERED: only that key
    health_check(instance=saved)
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.ACTIVE
    assert InstanceHealth.objects.get(instance=saved).state == Health.DASHBOARD_KEY_LOST
    assert _alerts(receiver) == ["dashboard_key_lost"]


def test_a_revoke_by_the_team_says_who_and_alerts_nothing(saved, telegram, receiver, owner):
    health_check(instance=saved)
    session_revoke(instance=saved, actor=owner)
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED
    assert saved.last_error.startswith("Revoked by olivia")
    health_check(instance=saved)
    assert _alerts(receiver) == []
    assert not AuditEvent.objects.filter(instance=saved, action="health.alert").exists()


@pytest.fixture
def demo_mode(settings, tmp_path):
    """Demo mode as scripts/run has it: the commands reach the world at TELEGRAM_DEMO_STATE."""
    from sessions_app.telegram.fake import DemoTelegram
    from tests import support

    settings.TELEGRAM_DEMO = True
    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "demo-telegram.sqlite3")
    settings.TELEGRAM_CLIENT_FACTORY = "sessions_app.telegram.fake.demo_client_factory"
    world = DemoTelegram.from_settings()
    support.use_world(world)
    return world


def test_the_demo_command_terminates_all_from_the_phone(demo_mode, instance, receiver):
    log_in(instance)
    session_save(instance=instance, actor=None)
    health_check(instance=instance)
    out = StringIO()
    call_command("demo_telegram", "terminate-all", ADA.lstrip("+"), stdout=out)
    assert "SESSION_REVOKED" in out.getvalue()
    health_check(instance=instance)
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.REVOKED and instance.last_error == ALL_SESSIONS_TERMINATED
    assert _alerts(receiver) == ["connector_gone"]


def test_the_demo_command_refuses_a_number_that_is_no_demo_account(demo_mode):
    with pytest.raises(CommandError, match="not a demo account"):
        call_command("demo_telegram", "terminate-all", "5550100")


def test_the_demo_command_is_refused_outside_demo_mode(telegram):
    with pytest.raises(CommandError, match="only exists in demo mode"):
        call_command("demo_telegram", "terminate-all", ADA.lstrip("+"))


def test_the_demo_command_makes_the_next_minted_key_stumble(demo_mode, instance):
    call_command("demo_telegram", "stumble-next-mint", stdout=StringIO())
    log_in(instance)
    with demo_mode.store.tx() as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'stumble_new_keys'").fetchone()[0] == "0"
    instance.refresh_from_db()
    assert instance.dashboard_session  # stumbled once, asked again, minted
