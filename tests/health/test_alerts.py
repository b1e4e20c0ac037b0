"""The whole loop: the schedule checks, a transition queues alerts, the sender posts them and emails owners.

Driven through the worker's own steps (what its two threads run), against the demo Telegram, a
webhook receiver on 127.0.0.1 and Django's locmem email backend.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from sessions_app.models import AuditEvent, InstanceStatus
from sessions_app.models_health import AlertDelivery, DeliveryStatus, Health, HealthCheck, InstanceHealth
from sessions_app.services.health.check import health_check
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.health.worker import HealthWorker
from sessions_app.services.sessions import session_save
from tests.conftest import log_in
from tests.health.conftest import OWNER_EMAIL


def _make_due(instance) -> None:
    InstanceHealth.objects.filter(instance=instance).update(next_check_at=timezone.now() - timedelta(seconds=1))


def _scheduled_check(worker: HealthWorker, instance) -> None:
    """One turn of the schedule with the instance due (as if its slot had come)."""
    worker.schedule_step()  # plans the instance on the first turn
    _make_due(instance)
    before = HealthCheck.objects.filter(instance=instance).count()
    worker.schedule_step()
    assert HealthCheck.objects.filter(instance=instance).count() == before + 1


def _status_changes(instance) -> int:
    return AuditEvent.objects.filter(instance=instance, action="instance.status").count()


def test_a_connector_terminated_from_another_device_alerts_once_and_its_recovery_once(saved, telegram, receiver):
    worker = HealthWorker()
    _scheduled_check(worker, saved)
    worker.sender_step()
    assert receiver.received == [] and mail.outbox == []  # a first healthy check is no news
    changes = _status_changes(saved)

    telegram.terminate_session(saved.session_string)  # "another device" ends the connector's session
    _scheduled_check(worker, saved)
    worker.sender_step()
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.REVOKED
    assert _status_changes(saved) == changes + 1
    assert [hook["event"] for hook in receiver.received] == ["connector_gone"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [OWNER_EMAIL]
    assert mail.outbox[0].subject == "[teleconnect] Production bot (prod-bot): connector session gone"
    assert "connector's Telegram session is gone" in mail.outbox[0].body

    for _ in range(10):
        _scheduled_check(worker, saved)
        worker.sender_step()
    assert len(receiver.received) == 1 and len(mail.outbox) == 1
    assert _status_changes(saved) == changes + 1

    log_in(saved)  # logged in again: a new connector key, saved for the connector
    session_save(instance=saved, actor=None)
    _scheduled_check(worker, saved)
    worker.sender_step()
    assert [hook["event"] for hook in receiver.received] == ["connector_gone", "recovered"]
    assert len(mail.outbox) == 2 and "recovered" in mail.outbox[1].subject
    assert receiver.received[1]["status"] == "healthy" and receiver.received[1]["previous"] == "connector_gone"


def test_the_webhook_carries_every_field_and_one_sentence_of_text(saved, telegram, receiver):
    health_check(instance=saved)
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    (hook,) = receiver.received
    assert {"event", "session", "name", "status", "reason", "at", "url", "text"} <= set(hook)
    assert hook["session"] == "prod-bot" and hook["name"] == "Production bot"
    assert hook["status"] == "connector_gone" and "no longer among the account's active sessions" in hook["reason"]
    assert hook["url"] == "https://teleconnect.example/instances/prod-bot/"
    assert hook["text"] == (
        "teleconnect: Production bot (prod-bot): the connector's Telegram session is gone "
        "(terminated, logged out or expired), see https://teleconnect.example/instances/prod-bot/"
    )
    assert timezone.datetime.fromisoformat(hook["at"]) <= timezone.now()


def test_without_a_dashboard_url_the_alert_has_no_link(saved, telegram, receiver, settings):
    settings.DASHBOARD_URL = ""
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    assert receiver.received[0]["url"] is None
    assert receiver.received[0]["text"].endswith("(terminated, logged out or expired).")


def test_an_object_changed_outside_and_put_back_alerts_twice_and_restores_the_status(saved, receiver):
    from tests.health.test_check import _write_outside

    health_check(instance=saved)
    _write_outside(saved, "")
    health_check(instance=saved)
    _write_outside(saved, saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    assert [hook["event"] for hook in receiver.received] == ["object_changed", "recovered"]
    saved.refresh_from_db()
    assert saved.status == InstanceStatus.ACTIVE


def test_a_lost_dashboard_key_alerts_and_so_does_minting_it_again(saved, telegram, receiver):
    from sessions_app.services.keys import dashboard_key_mint

    health_check(instance=saved)
    telegram.terminate_session(saved.dashboard_session)
    health_check(instance=saved)
    saved.refresh_from_db()
    dashboard_key_mint(instance=saved, actor=None)
    health_check(instance=saved)
    alerts_deliver_due()
    assert [hook["event"] for hook in receiver.received] == ["dashboard_key_lost", "recovered"]


def test_an_outage_is_alerted_only_once_it_has_lasted_and_its_end_too(saved, receiver, settings):
    health_check(instance=saved)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.unreachable_factory"
    for _ in range(3):
        health_check(instance=saved)
    alerts_deliver_due()
    assert receiver.received == []  # short outages are retried quietly
    InstanceHealth.objects.filter(instance=saved).update(failing_since=timezone.now() - timedelta(seconds=601))
    health_check(instance=saved)
    health_check(instance=saved)
    settings.TELEGRAM_CLIENT_FACTORY = "tests.support.telegram_factory"
    health_check(instance=saved)
    alerts_deliver_due()
    assert [hook["event"] for hook in receiver.received] == ["outage", "recovered"]


def test_alerts_go_to_every_owner_with_an_address_and_to_alert_emails_once_each(saved, telegram, settings):
    settings.ALERT_EMAILS = ["oncall@example.com", OWNER_EMAIL.upper()]
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        ["oncall@example.com", OWNER_EMAIL]
    )


def test_a_check_only_queues_alerts_so_a_dead_receiver_never_holds_it_up(saved, telegram, receiver, settings):
    receiver.delay = 5
    settings.ALERT_TIMEOUT_SECONDS = 5
    telegram.terminate_session(saved.session_string)
    started = time.monotonic()
    health_check(instance=saved)
    assert time.monotonic() - started < 2
    assert receiver.received == []
    assert AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2


def test_a_receiver_that_times_out_is_retried_with_backoff_and_the_failure_is_recorded(
    saved, telegram, receiver, settings
):
    receiver.delay = 1.5
    settings.ALERT_TIMEOUT_SECONDS = 0.3
    settings.ALERT_RETRY_SECONDS = 60
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    started = time.monotonic()
    alerts_deliver_due()
    assert time.monotonic() - started < 1.4  # gave up at the timeout, did not wait for the answer
    hook = AlertDelivery.objects.get(channel="webhook")
    assert (hook.status, hook.attempts, hook.last_error) == (DeliveryStatus.PENDING, 1, "no answer within 0.3 s")
    assert hook.next_attempt_at >= timezone.now() + timedelta(seconds=55)
    assert "secret-token" not in hook.target and hook.target.startswith("http://127.0.0.1:")
    # The checks go on meanwhile, and a due retry doubles the wait after each failure.
    assert health_check(instance=saved).result == Health.CONNECTOR_GONE
    for attempt, wait in ((2, 120), (3, None)):
        AlertDelivery.objects.filter(pk=hook.pk).update(next_attempt_at=timezone.now())
        alerts_deliver_due()
        hook.refresh_from_db()
        assert hook.attempts == attempt
        if wait is not None:
            assert hook.next_attempt_at >= timezone.now() + timedelta(seconds=wait - 5)
    assert hook.status == DeliveryStatus.FAILED
    failures = AuditEvent.objects.filter(action="alert.delivery", detail__channel="webhook")
    assert [event.outcome for event in failures.order_by("id")] == ["retrying", "retrying", "failed"]
    assert all("secret-token" not in str(event.detail) for event in failures)


def test_an_http_error_answer_is_a_failed_attempt(saved, telegram, receiver):
    receiver.status = 500
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    hook = AlertDelivery.objects.get(channel="webhook")
    assert hook.status == DeliveryStatus.PENDING and hook.last_error.startswith("the receiver answered HTTP 500")


def test_a_delivered_alert_is_audited(saved, telegram, receiver):
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    alerts_deliver_due()
    assert set(
        AuditEvent.objects.filter(action="alert.delivery", outcome="ok").values_list("detail__channel", flat=True)
    ) == {"webhook", "email"}
    assert AuditEvent.objects.filter(action="health.alert", detail__event="connector_gone").count() == 1


def test_a_delivery_goes_to_the_url_it_was_queued_for_even_once_that_url_left_the_settings(
    saved, telegram, receiver, settings
):
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    settings.ALERT_WEBHOOK_URLS = ["https://hooks.example/replacement"]
    alerts_deliver_due()
    assert AlertDelivery.objects.get(channel="webhook").status == DeliveryStatus.DELIVERED
    assert [hook["event"] for hook in receiver.received] == ["connector_gone"]


def test_a_delivery_claimed_by_a_sender_that_died_is_sent_again(saved, telegram, receiver):
    telegram.terminate_session(saved.session_string)
    health_check(instance=saved)
    AlertDelivery.objects.update(status=DeliveryStatus.SENDING, claimed_until=timezone.now() + timedelta(minutes=1))
    assert alerts_deliver_due() == 0  # claimed by a live sender: not sent twice
    AlertDelivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert alerts_deliver_due() == 2
    assert len(receiver.received) == 1
