"""One health check of one instance: every result it can reach, on the demo Telegram and the local store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_app.models import AuditEvent, InstanceStatus, TelegramLease
from sessions_app.models_health import Health, HealthCheck, InstanceHealth
from sessions_app.services.health.check import CheckRunning, health_check
from sessions_app.services.sessions import session_verify
from sessions_app.storage import get_session_storage
from tests.conftest import demo_session

CONNECTOR_IP = "203.0.113.7"  # TEST-NET-3: "the connector's machine", a label only


def _health(instance) -> InstanceHealth:
    return InstanceHealth.objects.get(instance=instance)


def _write_outside(instance, content: str) -> None:
    """A writer that is not the dashboard (a connector's save, a person with bucket access)."""
    store = get_session_storage()
    current = store.head(instance.session)
    store.save(instance.session, content, expected_etag=current.etag if current else None)


def _same_key_other_address(session_string: str) -> str:
    """What a connector's own save can write: the same auth key with the DC address it last used."""
    from telethon.sessions import StringSession

    string_session = StringSession(session_string)
    string_session.set_dc(string_session.dc_id, "149.154.167.51", 443)
    return string_session.save()


def test_a_logged_in_saved_instance_is_healthy_with_its_connector_last_active(saved, clock):
    check = health_check(instance=saved)
    assert check.result == Health.HEALTHY
    assert (check.object_finding, check.connector_finding) == ("unchanged", "listed")
    assert check.connector_active_at is not None
    saved.refresh_from_db()
    assert saved.connector_active_at == check.connector_active_at
    assert saved.status == InstanceStatus.ACTIVE
    health = _health(saved)
    assert health.state == Health.HEALTHY and health.checked_at is not None
    assert health.next_check_at > timezone.now()


def test_a_check_never_connects_with_the_connectors_key(saved, telegram):
    with telegram.hold(saved.session_string, ip=CONNECTOR_IP):  # the connector is running
        for _ in range(3):
            assert health_check(instance=saved).result == Health.HEALTHY
        assert telegram.connected_ips(saved.session_string) == [CONNECTOR_IP]
    assert telegram.is_authorized(saved.session_string)  # not destroyed as a key used from two places


def test_the_connector_terminated_from_another_device_is_gone_and_revokes_the_instance(saved, telegram):
    telegram.terminate_session(saved.session_string)
    check = health_check(instance=saved)
    assert check.result == Health.CONNECTOR_GONE and check.connector_finding == "gone"
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED
    assert "no longer among the account's active sessions" in saved.last_error
    assert AuditEvent.objects.filter(
        instance=saved, action="instance.status", detail={"from": "active", "to": "revoked"}
    ).exists()
    assert AuditEvent.objects.filter(
        instance=saved, action="health.change", detail={"from": "unknown", "to": "connector_gone"}
    ).exists()


def test_verify_still_finds_a_terminated_connector_revoked_through_the_shared_sighting(saved, telegram):
    telegram.terminate_session(saved.session_string)
    assert session_verify(instance=saved, actor=None) == "revoked"


def test_an_object_emptied_outside_the_dashboard_is_reported_and_leaves_the_instance_not_saved(saved):
    _write_outside(saved, "")
    check = health_check(instance=saved)
    assert (check.result, check.object_finding) == (Health.OBJECT_CHANGED, "emptied")
    assert "emptied outside the dashboard" in check.reason
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.UNSAVED


def test_an_object_replaced_with_another_key_is_reported(saved):
    _write_outside(saved, demo_session())
    check = health_check(instance=saved)
    assert (check.result, check.object_finding) == (Health.OBJECT_CHANGED, "replaced")
    assert "another key" in check.reason


def test_an_object_deleted_outside_the_dashboard_is_reported(saved, settings):
    get_session_storage().delete(saved.object_key)
    check = health_check(instance=saved)
    assert (check.result, check.object_finding) == (Health.OBJECT_CHANGED, "removed")


def test_the_connector_saving_the_same_key_again_is_healthy_and_its_etag_is_remembered(saved):
    old_etag = saved.object_etag
    _write_outside(saved, _same_key_other_address(saved.session_string))  # a new ETag
    check = health_check(instance=saved)
    assert (check.result, check.object_finding) == (Health.HEALTHY, "rewritten")
    saved.refresh_from_db()
    assert saved.object_etag != old_etag
    assert saved.object_etag == get_session_storage().head(saved.session).etag
    assert health_check(instance=saved).object_finding == "unchanged"


def test_a_recovered_object_makes_the_instance_active_again(saved):
    _write_outside(saved, "")
    health_check(instance=saved)
    _write_outside(saved, saved.session_string)  # the connector saved its key back
    check = health_check(instance=saved)
    assert check.result == Health.HEALTHY
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.ACTIVE


def test_a_dead_dashboard_key_is_dashboard_key_lost_and_the_connector_is_untouched(saved, telegram):
    telegram.terminate_session(saved.dashboard_session)
    check = health_check(instance=saved)
    assert (check.result, check.connector_finding) == (Health.DASHBOARD_KEY_LOST, "dashboard_key_lost")
    saved.refresh_from_db()
    assert saved.dashboard_session == "" and saved.status == InstanceStatus.ACTIVE
    assert telegram.is_authorized(saved.session_string)
    # The next check needs no Telegram call to know, and says the same.
    assert health_check(instance=saved).result == Health.DASHBOARD_KEY_LOST
    assert _health(saved).state == Health.DASHBOARD_KEY_LOST


def test_an_unreachable_telegram_is_transient_until_it_has_lasted(saved, settings):
    health_check(instance=saved)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    check = health_check(instance=saved)
    assert check.result == Health.UNREACHABLE and "could not be reached" in check.reason
    health = _health(saved)
    assert health.state == Health.HEALTHY and health.failing_since is not None  # not alerted yet
    assert health.next_check_at <= timezone.now() + timedelta(seconds=60)  # retried within a minute
    InstanceHealth.objects.filter(pk=health.pk).update(failing_since=timezone.now() - timedelta(seconds=601))
    health_check(instance=saved)
    assert _health(saved).state == Health.UNREACHABLE
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.ACTIVE  # a transient state never changes the status


def test_an_unreachable_store_is_transient_too(saved, settings):
    settings.AWS_S3_SESSION_BUCKET = "sessions"
    settings.AWS_S3_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    settings.HEALTH_OUTAGE_ALERT_SECONDS = 0
    check = health_check(instance=saved)
    assert (check.result, check.object_finding) == (Health.UNREACHABLE, "unreachable")
    assert "session store could not be read" in check.reason
    assert _health(saved).state == Health.UNREACHABLE


def test_a_busy_instance_is_not_checked_and_is_retried_soon(saved):
    health_check(instance=saved)
    last_checked = _health(saved).checked_at
    TelegramLease.objects.create(
        session=saved.session, holder="someone", purpose="archive", expires_at=timezone.now() + timedelta(minutes=5)
    )
    check = health_check(instance=saved)
    assert (check.result, check.connector_finding) == (Health.BUSY, "busy")
    health = _health(saved)
    assert health.state == Health.HEALTHY and health.checked_at == last_checked
    assert health.next_check_at <= timezone.now() + timedelta(seconds=60)


def test_only_one_check_of_an_instance_runs_at_a_time(saved):
    health_check(instance=saved)
    InstanceHealth.objects.filter(instance=saved).update(claimed_until=timezone.now() + timedelta(minutes=1))
    with pytest.raises(CheckRunning):
        health_check(instance=saved)
    # A claim left by a check that died is taken over once it expired.
    InstanceHealth.objects.filter(instance=saved).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert health_check(instance=saved).result == Health.HEALTHY


def test_it_keeps_the_last_n_checks_of_each_instance(saved, settings):
    settings.HEALTH_CHECKS_KEPT = 3
    checks = [health_check(instance=saved) for _ in range(5)]
    kept = list(HealthCheck.objects.filter(instance=saved).order_by("id").values_list("id", flat=True))
    assert kept == [check.pk for check in checks[-3:]]


def test_an_instance_that_is_not_logged_in_has_nothing_to_watch(telegram, instance):
    check = health_check(instance=instance)
    assert (check.result, check.connector_finding) == (Health.IDLE, "no_key")
    instance.refresh_from_db()
    assert instance.status == InstanceStatus.NEW


def test_a_key_written_for_an_instance_without_one_is_pointed_out_and_not_alerted(telegram, instance):
    _write_outside(instance, demo_session())
    check = health_check(instance=instance)
    assert (check.result, check.object_finding) == (Health.IDLE, "appeared")
    assert "Verify adopts it" in check.reason
