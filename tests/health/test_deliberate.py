"""What the team does on purpose (revoke, delete) shows in the health at once and is never alerted.

Each test counts the alert deliveries queued (one per webhook URL and per owner address) and runs
the checks a schedule would run after the action.
"""

from __future__ import annotations

from django.test import Client

from sessions_app.models import AuditEvent, ConnectorInstance, InstanceStatus
from sessions_app.models_health import AlertDelivery, Health, HealthCheck, InstanceHealth
from sessions_app.services.health import check as check_module
from sessions_app.services.health.check import KEY_CHANGED, health_check
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.health.schedule import health_plan, health_run_due
from sessions_app.services.revoke import session_revoke
from sessions_app.services.sessions import session_save
from sessions_app.storage import get_session_storage
from sessions_app.telegram.fake.accounts import account_by_phone
from tests.conftest import ADA, demo_session, log_in

DETAIL = "/instances/prod-bot/"
REVOKE = "/instances/prod-bot/revoke/"
DELETE = "/instances/prod-bot/delete/"


def _health(instance) -> InstanceHealth:
    return InstanceHealth.objects.get(instance=instance)


def _alerts() -> int:
    return AlertDelivery.objects.count()


def _health_card(client: Client) -> str:
    page = client.get(DETAIL).content.decode()
    start = page.index('<div class="card" id="health">')
    return page[start : page.index("<dt>Last checked</dt>", start)]


def test_a_revoke_says_at_once_who_revoked_it_and_the_next_checks_stay_quiet(saved, owner_client, receiver):
    assert health_check(instance=saved).result == Health.HEALTHY
    assert "health-healthy" in _health_card(owner_client)

    owner_client.post(REVOKE)

    card = _health_card(owner_client)
    assert "health-healthy" not in card and 'class="badge health-idle"' in card
    assert "Nothing is watched or alerted until someone logs in again." in card
    page = owner_client.get(DETAIL).content.decode()
    assert page.count("Revoked by olivia") == 1  # said once, in the status line at the top, not again in the card
    assert "Revoked by olivia" in page.split('id="status-line">')[1].split("</div>")[0]
    settled = _health(saved)
    assert settled.state == Health.IDLE
    for _ in range(3):
        check = health_check(instance=saved)
        assert (check.result, check.connector_finding) == (Health.IDLE, "no_key")
    health = _health(saved)
    assert (health.state, health.changed_at) == (Health.IDLE, settled.changed_at)  # no flapping
    assert health.reason.startswith("Revoked by olivia")
    assert _alerts() == 0
    assert alerts_deliver_due() == 0 and receiver.received == []
    changes = AuditEvent.objects.filter(instance=saved, action="health.change").order_by("id")
    assert [(event.actor_id, event.detail["to"]) for event in changes][-1:] == [(saved.created_by_id, "idle")]
    assert changes.count() == 2  # unknown -> healthy (the first check), healthy -> idle (the revoke)


def test_a_revoked_instance_is_listed_as_nothing_to_watch_not_as_needing_attention(saved, owner_client):
    health_check(instance=saved)
    owner_client.post(REVOKE)
    health_check(instance=saved)
    assert "prod-bot" in owner_client.get("/?status=idle").content.decode()
    assert "prod-bot" not in owner_client.get("/?status=attention").content.decode()
    assert "prod-bot" in owner_client.get("/?status=revoked").content.decode()


def test_a_revoke_after_the_dashboards_key_was_lost_sends_no_recovered_alert(saved, telegram, owner_client):
    telegram.terminate_session(saved.dashboard_session)
    assert health_check(instance=saved).result == Health.DASHBOARD_KEY_LOST
    alerted = _alerts()
    assert alerted == 1  # the owner's address: the loss itself is news

    response = owner_client.post(REVOKE, follow=True)
    assert "Revoked:" in response.content.decode()
    health_check(instance=saved)

    assert _health(saved).state == Health.IDLE
    assert _alerts() == alerted  # neither "recovered" nor anything else


def test_a_new_login_after_a_revoke_makes_the_checks_resume_and_alert_again(saved, telegram, owner_client):
    owner_client.post(REVOKE)
    health_check(instance=saved)
    saved.refresh_from_db()

    log_in(saved)
    session_save(instance=saved, actor=None)
    saved.refresh_from_db()
    check = health_check(instance=saved)
    assert check.result == Health.HEALTHY
    health = _health(saved)
    assert health.state == Health.HEALTHY and not health.reason.startswith("Revoked")
    assert _alerts() == 0  # leaving "nothing to watch" is no news

    telegram.terminate_session(saved.session_string)
    assert health_check(instance=saved).result == Health.CONNECTOR_GONE
    assert _alerts() == 1


def test_a_revoke_telegram_refuses_leaves_the_health_untouched(saved, owner_client, settings):
    health_check(instance=saved)
    before = _health(saved)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    response = owner_client.post(REVOKE, follow=True)
    assert "Nothing was revoked" in response.content.decode()
    after = _health(saved)
    assert (after.state, after.reason, after.changed_at) == (Health.HEALTHY, before.reason, before.changed_at)
    assert "health-healthy" in _health_card(owner_client)
    assert not AuditEvent.objects.filter(instance=saved, action="health.change", detail__to="idle").exists()


def test_a_never_logged_in_instance_still_reads_not_logged_in(telegram, instance):
    assert health_check(instance=instance).reason == "Not logged in: nothing to watch."
    assert _health(instance).reason == "Not logged in: nothing to watch."


def test_a_key_written_to_a_revoked_instances_object_replaces_the_revokes_words(saved, owner_client):
    owner_client.post(REVOKE)
    store = get_session_storage()
    current = store.head(saved.session)
    store.save(saved.session, demo_session(), expected_etag=current.etag if current else None)
    check = health_check(instance=saved)
    assert check.result == Health.IDLE and "Verify adopts it" in check.reason
    assert "Verify adopts it" in _health(saved).reason
    assert _alerts() == 0


def test_delete_keeping_the_object_logs_out_the_dashboards_key_without_an_alert(saved, owner_client):
    health_check(instance=saved)
    health_plan()
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "keep"})
    assert response.status_code == 302
    assert not ConnectorInstance.objects.filter(session="prod-bot").exists()
    assert health_run_due() == 0
    assert _alerts() == 0


def test_a_delete_refused_after_its_revoke_leaves_a_quiet_revoked_instance(saved, telegram, owner_client):
    health_check(instance=saved)
    ada = account_by_phone(ADA)
    assert ada is not None
    telegram.age_authorizations(ada.user_id, 2 * 86400)  # past the 24-hour rule: the connector is terminated
    telegram.flood("auth.logOut", 3600)  # but the dashboard's own key cannot log itself out
    response = owner_client.post(DELETE, {"confirm": "prod-bot", "object": "revoke"})
    assert response.status_code == 400
    assert "The session was revoked, but the instance was not deleted" in response.content.decode()
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED and saved.dashboard_session  # kept: a retry logs it out
    for _ in range(2):
        assert health_check(instance=saved).result == Health.IDLE
    assert _health(saved).reason.startswith("Revoked by olivia")
    assert not HealthCheck.objects.filter(instance=saved, result=Health.DASHBOARD_KEY_LOST).exists()
    assert _alerts() == 0


def test_a_check_that_looked_just_before_a_revoke_landed_keeps_nothing_stale(saved, owner, monkeypatch):
    health_check(instance=saved)
    look = check_module.connector_look

    def look_while_the_owner_revokes(**kwargs):
        seen = look(**kwargs)  # the connector is listed: the check is about to say "healthy"
        session_revoke(instance=ConnectorInstance.objects.get(pk=saved.pk), actor=owner)
        return seen

    monkeypatch.setattr(check_module, "connector_look", look_while_the_owner_revokes)
    check = health_check(instance=saved)
    assert (check.result, check.reason) == (Health.BUSY, KEY_CHANGED)
    health = _health(saved)
    assert health.state == Health.IDLE and health.reason.startswith("Revoked by olivia")
    assert health.next_check_at is not None
    monkeypatch.undo()
    assert health_check(instance=saved).result == Health.IDLE
    assert _alerts() == 0
