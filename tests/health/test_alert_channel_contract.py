"""The alert channel contract, run against every channel: webhook (a receiver on 127.0.0.1) and email (locmem).

A channel queues one delivery per destination for the events it sends and none for the others, sends
one and marks it delivered, retries a failing destination with backoff and then fails it with a
sentence, never shows a destination's secret part, and carries the event's sentence. A new channel
gets a Harness here and passes the same tests.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from sessions_app.models import AuditEvent
from sessions_app.models_health import AlertDelivery, DeliveryStatus, Health
from sessions_app.services.health.alerts import HEADLINES, PROBLEM_EVENTS, alert_notice_queue, alerts_queue
from sessions_app.services.health.channels import alert_channels
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.health.events import ALERT_EVENTS
from tests.conftest import client_for
from tests.health.conftest import OWNER_EMAIL

NOTICE_TEXT = "A new login on Production bot: iPhone 15 Pro, Telegram iOS 12.2, from 198.51.100.23 (NL), 3 minutes ago"


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that hangs up on every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@dataclass
class Harness:
    """One channel under test: its destinations configured, what they received, how to make them fail."""

    name: str
    events_setting: str
    destinations: list[str]
    received: Callable[[], list[str]]  # each alert that arrived, as the text a person reads
    unconfigure: Callable[[], None]
    # Each way a destination can fail: it is made to fail, and says so in last_error starting with this.
    failures: dict[str, tuple[Callable[[], None], str]] = field(default_factory=dict)
    secret: str = ""  # the part of a destination no page may show ("" when there is none)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _webhook(request, settings) -> Harness:
    receiver = request.getfixturevalue("receiver")
    urls = [receiver.url, receiver.url.replace("/T000/", "/T001/")]
    settings.ALERT_WEBHOOK_URLS = urls

    def answer_500() -> None:
        receiver.status = 500

    def refuse() -> None:
        dead = f"http://127.0.0.1:{_closed_port()}"
        settings.ALERT_WEBHOOK_URLS = [f"{dead}/hooks/T000/secret-token", f"{dead}/hooks/T001/secret-token"]

    return Harness(
        name="webhook",
        events_setting="ALERT_WEBHOOK_EVENTS",
        destinations=urls,
        received=lambda: [hook["text"] for hook in receiver.received],
        unconfigure=lambda: setattr(settings, "ALERT_WEBHOOK_URLS", []),
        failures={
            "answers HTTP 500": (answer_500, "the receiver answered HTTP 500"),
            "refuses the connection": (refuse, "could not connect: [Errno 111] Connection refused"),
        },
        secret="secret-token",
    )


def _email(request, settings) -> Harness:
    owner = request.getfixturevalue("owner")
    owner.email = OWNER_EMAIL
    owner.save(update_fields=["email"])
    settings.ALERT_EMAILS = ["oncall@example.com"]

    def hang_up() -> None:
        settings.EMAIL_BACKEND = f"{__name__}.RefusingEmailBackend"

    def unconfigure() -> None:
        settings.ALERT_EMAILS = []
        owner.email = ""
        owner.save(update_fields=["email"])

    return Harness(
        name="email",
        events_setting="ALERT_EMAIL_EVENTS",
        destinations=[OWNER_EMAIL, "oncall@example.com"],
        received=lambda: [f"{message.subject}\n{message.body}" for message in mail.outbox],
        unconfigure=unconfigure,
        failures={
            "server hangs up": (hang_up, "the mail server refused or did not answer: Connection unexpectedly closed")
        },
    )


HARNESSES = {"webhook": _webhook, "email": _email}
FAILURES = [("webhook", "answers HTTP 500"), ("webhook", "refuses the connection"), ("email", "server hangs up")]


@pytest.fixture(params=sorted(HARNESSES))
def channel(request, settings, instance) -> Harness:
    settings.ALERT_RETRY_SECONDS = 60
    settings.ALERT_MAX_ATTEMPTS = 3
    return HARNESSES[request.param](request, settings)


def _alert(instance, event: str = "connector_gone") -> list[AlertDelivery]:
    if event == "recovered":
        return alerts_queue(
            instance=instance,
            event=event,
            previous=Health.CONNECTOR_GONE,
            state=Health.HEALTHY,
            reason="",
            at=timezone.now(),
        )
    if event in HEADLINES:
        state = next(state for state, name in PROBLEM_EVENTS.items() if name == event)
        return alerts_queue(
            instance=instance,
            event=event,
            previous=Health.HEALTHY,
            state=state,
            reason="The connector's authorization is no longer among the account's active sessions.",
            at=timezone.now(),
        )
    return alert_notice_queue(instance=instance, event=event, text=NOTICE_TEXT, details={}, at=timezone.now())


def _mine(harness: Harness):
    return AlertDelivery.objects.filter(channel=harness.name).order_by("id")


def test_every_channel_in_the_settings_has_a_harness_here():
    assert sorted(channel.name for channel in alert_channels()) == sorted(HARNESSES)


# --- Queuing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("event", ["connector_gone", "recovered", "new_authorization"])
def test_it_queues_one_delivery_per_destination_for_an_event_it_sends(channel, instance, event):
    _alert(instance, event)
    deliveries = list(_mine(channel))
    assert sorted(d.destination for d in deliveries) == sorted(channel.destinations)
    assert {(d.event, d.status, d.session) for d in deliveries} == {(event, DeliveryStatus.PENDING, "prod-bot")}


def test_it_queues_nothing_for_an_event_filtered_out_of_its_setting(channel, instance, settings):
    setattr(settings, channel.events_setting, [e for e in ALERT_EVENTS if e != "connector_moved"])
    _alert(instance, "connector_moved")
    assert not _mine(channel).exists()
    _alert(instance, "connector_gone")
    assert _mine(channel).count() == len(channel.destinations)


def test_it_queues_nothing_when_no_destination_is_configured(channel, instance):
    channel.unconfigure()
    _alert(instance)
    assert not _mine(channel).exists()
    assert AuditEvent.objects.get(action="health.alert").detail["deliveries"] == AlertDelivery.objects.count()


# --- Sending ------------------------------------------------------------------------------------


def test_it_sends_each_delivery_once_and_marks_it_delivered(channel, instance):
    _alert(instance)
    assert alerts_deliver_due() == len(channel.destinations)
    assert alerts_deliver_due() == 0
    deliveries = list(_mine(channel))
    assert {(d.status, d.attempts, d.last_error) for d in deliveries} == {(DeliveryStatus.DELIVERED, 1, "")}
    assert all(d.delivered_at is not None and d.destination == "" for d in deliveries)  # no token kept at rest
    assert len(channel.received()) == len(channel.destinations)
    outcomes = AuditEvent.objects.filter(action="alert.delivery", detail__channel=channel.name)
    assert list(outcomes.values_list("outcome", flat=True)) == ["ok"] * len(channel.destinations)


@pytest.mark.parametrize(("channel", "failure"), FAILURES, indirect=["channel"])
def test_a_failing_destination_is_retried_with_backoff_then_failed_with_a_sentence(channel, instance, failure):
    make_it_fail, error = channel.failures[failure]
    make_it_fail()
    _alert(instance)
    for attempt, wait in ((1, 60), (2, 120), (3, None)):
        before = timezone.now()
        alerts_deliver_due()
        after = timezone.now()
        for delivery in _mine(channel):
            assert delivery.attempts == attempt
            assert delivery.last_error.startswith(error), delivery.last_error
            if wait is None:
                assert delivery.status == DeliveryStatus.FAILED and delivery.destination == ""
            else:
                assert delivery.status == DeliveryStatus.PENDING
                assert before + timedelta(seconds=wait) <= delivery.next_attempt_at <= after + timedelta(seconds=wait)
        assert alerts_deliver_due() == 0  # not due again before its backoff is over
        _mine(channel).filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
    deliveries = _mine(channel).count()
    assert deliveries == len(channel.destinations)
    outcomes = AuditEvent.objects.filter(action="alert.delivery", detail__channel=channel.name).order_by("id")
    assert list(outcomes.values_list("outcome", flat=True)) == ["retrying"] * 2 * deliveries + ["failed"] * deliveries


# --- What people see ----------------------------------------------------------------------------


def test_the_destination_is_stored_encrypted_and_pages_and_audit_show_only_its_display(channel, instance, viewer):
    _alert(instance)
    for delivery in _mine(channel):
        with connection.cursor() as cursor:
            cursor.execute("SELECT destination FROM sessions_app_alertdelivery WHERE id = %s", [delivery.pk])
            stored = cursor.fetchone()[0]
        assert stored.startswith("gAAAA") and delivery.destination not in stored  # a Fernet token
    alerts_deliver_due()
    page = client_for(viewer).get("/alerts/").content.decode()
    assert all(f"{channel.name}: {delivery.target}" in page for delivery in _mine(channel))
    if channel.secret:  # an email address is shown as it is: it has no secret part
        assert channel.secret not in page
        assert all(channel.secret not in d.target for d in _mine(channel))
        assert all(channel.secret not in str(e.detail) for e in AuditEvent.objects.all())


@pytest.mark.parametrize("event", ["connector_gone", "account_frozen", "new_authorization"])
def test_what_it_sends_carries_the_events_sentence(channel, instance, event):
    _alert(instance, event)
    alerts_deliver_due()
    sentence = NOTICE_TEXT if event == "new_authorization" else HEADLINES[event]
    received = channel.received()
    assert len(received) == len(channel.destinations)
    assert all(sentence in text for text in received)
