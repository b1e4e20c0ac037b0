"""What each channel does beyond the contract: per-channel routing, words in emails, plugging a channel in."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from sessions_app.models import AuditEvent
from sessions_app.models_health import AlertDelivery, DeliveryStatus, Health
from sessions_app.services.health.alerts import (
    NOTICE_EVENTS,
    PROBLEM_EVENTS,
    RECOVERED,
    alert_notice_queue,
    alert_payload,
    alerts_queue,
    notice_payload,
)
from sessions_app.services.health.channels import WebhookChannel, alert_channels, email_body, email_subject
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.health.events import ALERT_EVENTS
from tests.health.conftest import OWNER_EMAIL

SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


class PagerChannel:
    """A third channel, as a team would add one: a class and its path in ALERT_CHANNELS."""

    name = "pager"
    sent: list[tuple[str, str]] = []

    @property
    def events(self):
        return ["connector_gone"]

    def destinations(self, instance):
        return [f"pager://{instance.session}"]

    def display(self, destination):
        return "pager"

    def send(self, destination, payload, *, timeout):
        self.sent.append((destination, payload["event"]))


@pytest.fixture
def with_owner_email(owner):
    owner.email = OWNER_EMAIL
    owner.save(update_fields=["email"])


def _notice(instance, event: str = "connector_moved") -> None:
    text = "The connector of Production bot is now seen from NL (was DE)."
    alert_notice_queue(instance=instance, event=event, text=text, details={"country": "NL"}, at=timezone.now())


def test_the_events_alerts_know_are_the_events_the_settings_accept():
    assert {*PROBLEM_EVENTS.values(), RECOVERED, *NOTICE_EVENTS} == set(ALERT_EVENTS)


def test_each_channel_routes_only_its_own_events(instance, receiver, with_owner_email, settings):
    settings.ALERT_WEBHOOK_EVENTS = [event for event in ALERT_EVENTS if event != "connector_moved"]
    _notice(instance)
    alerts_deliver_due()
    assert receiver.received == []  # kept off the pager
    assert [message.to for message in mail.outbox] == [[OWNER_EMAIL]]
    assert "connector seen from another country" in mail.outbox[0].subject


def test_an_alert_no_channel_sends_queues_nothing_and_the_audit_says_so(instance, receiver, settings):
    settings.ALERT_WEBHOOK_EVENTS = ["connector_gone"]
    _notice(instance)
    assert not AlertDelivery.objects.exists()
    assert AuditEvent.objects.get(action="health.alert").detail == {"event": "connector_moved", "deliveries": 0}


def test_every_event_reads_as_words_in_its_email(instance):
    payloads = [
        alert_payload(
            instance=instance, event=event, previous=Health.HEALTHY, state=state, reason="Checked.", at=timezone.now()
        )
        for state, event in PROBLEM_EVENTS.items()
    ]
    payloads.append(
        alert_payload(
            instance=instance,
            event=RECOVERED,
            previous=Health.ACCOUNT_FROZEN,
            state=Health.HEALTHY,
            reason="",
            at=timezone.now(),
        )
    )
    payloads += [
        notice_payload(instance=instance, event=event, text="Something was seen.", details={}, at=timezone.now())
        for event in NOTICE_EVENTS
    ]
    assert sorted(payload["event"] for payload in payloads) == sorted(ALERT_EVENTS)
    for payload in payloads:
        subject, body = email_subject(payload), email_body(payload)
        assert subject.startswith("[teleconnect] Production bot (prod-bot): ")
        assert SNAKE_CASE.findall(subject) == [] and SNAKE_CASE.findall(body) == [], (subject, body)


def test_a_webhooks_display_drops_its_credentials_path_and_query():
    display = WebhookChannel().display("https://bot:s3cret@hooks.example:8443/services/T0/B0/tok?key=abc")
    assert display == "https://hooks.example:8443/…"


def test_a_channel_plugs_in_by_its_path_and_is_sent_like_the_others(instance, settings):
    PagerChannel.sent = []
    settings.ALERT_CHANNELS = [*settings.ALERT_CHANNELS, f"{__name__}.PagerChannel"]
    alerts_queue(
        instance=instance,
        event="connector_gone",
        previous=Health.HEALTHY,
        state=Health.CONNECTOR_GONE,
        reason="",
        at=timezone.now(),
    )
    _notice(instance)  # not among the pager's events
    alerts_deliver_due()
    assert PagerChannel.sent == [("pager://prod-bot", "connector_gone")]
    assert AlertDelivery.objects.get(channel="pager").status == DeliveryStatus.DELIVERED


def test_a_delivery_whose_channel_left_the_settings_fails_with_a_sentence(instance, receiver, settings):
    settings.ALERT_MAX_ATTEMPTS = 1
    _notice(instance)
    settings.ALERT_CHANNELS = [path for path in settings.ALERT_CHANNELS if not path.endswith(".WebhookChannel")]
    alerts_deliver_due()
    delivery = AlertDelivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "the webhook channel is no longer in ALERT_CHANNELS"
    assert receiver.received == []


def test_a_destination_no_key_decrypts_fails_its_delivery_with_a_sentence(instance, receiver, settings):
    settings.ALERT_MAX_ATTEMPTS = 1
    _notice(instance)
    settings.SESSION_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    alerts_deliver_due()
    delivery = AlertDelivery.objects.get(channel="webhook")
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.startswith("its destination cannot be decrypted: SESSION_ENCRYPTION_KEY no longer")
    assert receiver.received == []


def test_a_channel_path_that_cannot_be_imported_is_improperly_configured(settings):
    settings.ALERT_CHANNELS = ["sessions_app.services.health.channels.SmokeSignalChannel"]
    with pytest.raises(ImproperlyConfigured, match="ALERT_CHANNELS names .*SmokeSignalChannel.*cannot be imported"):
        alert_channels()
