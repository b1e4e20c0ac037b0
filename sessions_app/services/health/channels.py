"""Alert channels: where an alert goes and how one delivery of it is sent, one class per way of sending.

ALERT_CHANNELS lists the channels by dotted path. Each reads its own settings (its destinations, its
events), so a channel with nothing configured yields no destination and queues nothing. alerts.py
queues and delivery.py sends through the AlertChannel contract only: a new channel is one class that
keeps it (tests/health/test_alert_channel_contract.py proves it) and its path in ALERT_CHANNELS.
"""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from collections.abc import Collection
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from sessions_app.models import ConnectorInstance, Membership, Role
from sessions_app.services.health.events import event_words


class DeliveryFailed(Exception):
    """One attempt failed; the message says why in a few words, never the destination's secret part."""


class AlertChannel(Protocol):
    """One way of sending alerts. Channels hold no state: they read their settings when asked."""

    # Stored on each delivery (AlertDelivery.channel, 20 characters at most) and shown on /alerts/; one word,
    # unique among ALERT_CHANNELS.
    name: str

    @property
    def events(self) -> Collection[str]:
        """The events this channel sends (its ALERT_<NAME>_EVENTS); others queue nothing on it."""
        ...

    def destinations(self, instance: ConnectorInstance) -> list[str]:
        """Where an alert about `instance` goes, each once; [] when nothing is configured."""
        ...

    def display(self, destination: str) -> str:
        """The destination as pages, audit and errors show it: never its secret part."""
        ...

    def send(self, destination: str, payload: dict[str, Any], *, timeout: float) -> None:
        """Send one alert (`payload` as alerts.py built it) within `timeout` seconds, or raise DeliveryFailed."""
        ...


class WebhookChannel:
    """A JSON POST of the payload to each ALERT_WEBHOOK_URLS; `text` is one sentence for chat webhooks."""

    name = "webhook"

    @property
    def events(self) -> Collection[str]:
        return settings.ALERT_WEBHOOK_EVENTS

    def destinations(self, instance: ConnectorInstance) -> list[str]:
        return list(dict.fromkeys(settings.ALERT_WEBHOOK_URLS))

    def display(self, destination: str) -> str:
        """scheme://host/… : enough to tell receivers apart; the path and credentials (often a token) stay out."""
        parts = urlsplit(destination)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"

    def send(self, destination: str, payload: dict[str, Any], *, timeout: float) -> None:
        request = urllib.request.Request(  # noqa: S310 - ALERT_WEBHOOK_URLS is checked to be http(s) at start-up
            destination,
            data=json.dumps(payload).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "teleconnect-alerts"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
                response.read(1024)
        except urllib.error.HTTPError as error:
            raise DeliveryFailed(f"the receiver answered HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError | socket.timeout):
                raise DeliveryFailed(f"no answer within {timeout:g} s") from None
            raise DeliveryFailed(f"could not connect: {error.reason}") from None
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {timeout:g} s") from None
        except (OSError, ValueError) as error:
            raise DeliveryFailed(f"could not connect: {error}") from None


class EmailChannel:
    """An email to each owner of the instance with an address, and to each ALERT_EMAILS, each address once."""

    name = "email"

    @property
    def events(self) -> Collection[str]:
        return settings.ALERT_EMAIL_EVENTS

    def destinations(self, instance: ConnectorInstance) -> list[str]:
        owners = Membership.objects.filter(
            instance=instance, role=Role.OWNER, user__is_active=True, user__email__gt=""
        ).values_list("user__email", flat=True)
        addresses: dict[str, str] = {}
        for address in [*owners.order_by("user__email"), *settings.ALERT_EMAILS]:
            addresses.setdefault(address.lower(), address)
        return list(addresses.values())

    def display(self, destination: str) -> str:
        return destination  # the team sees who was told

    def send(self, destination: str, payload: dict[str, Any], *, timeout: float) -> None:
        message = EmailMessage(
            subject=email_subject(payload),
            body=email_body(payload),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[destination],
            connection=get_connection(timeout=timeout),
        )
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"the mail server refused or did not answer: {error}") from None


def email_subject(payload: dict[str, Any]) -> str:
    return f"[teleconnect] {payload.get('name')} ({payload.get('session')}): {event_words(str(payload.get('event')))}"


def email_body(payload: dict[str, Any]) -> str:
    lines = [str(payload.get("text", ""))]
    if payload.get("reason"):
        lines += ["", str(payload["reason"])]
    if payload.get("url"):
        lines += ["", f"Open the instance: {payload['url']}"]
    lines += ["", f"At {payload.get('at')}. You get this as an owner of the instance or through ALERT_EMAILS."]
    return "\n".join(lines)


def alert_channels() -> tuple[AlertChannel, ...]:
    """The channels of ALERT_CHANNELS, in their order."""
    return _load(tuple(settings.ALERT_CHANNELS))


def alert_channel(name: str) -> AlertChannel | None:
    """The configured channel called `name`, or None (it left ALERT_CHANNELS)."""
    return next((channel for channel in alert_channels() if channel.name == name), None)


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[AlertChannel, ...]:
    channels: list[AlertChannel] = []
    for path in paths:
        try:
            channels.append(import_string(path)())
        except ImportError:
            raise ImproperlyConfigured(f"ALERT_CHANNELS names {path!r}, which cannot be imported") from None
    names = [channel.name for channel in channels]
    if len(set(names)) != len(names):
        raise ImproperlyConfigured(f"ALERT_CHANNELS has two channels with the same name: {', '.join(names)}")
    return tuple(channels)
