"""What a health transition or a notice sends and to whom: queued deliveries, one per destination of each channel.

Queuing is a few inserts inside the check's transaction; delivery.py sends them later, on its own
thread, so a slow or dead receiver never holds a check up. The channels (channels.py) say where an
event goes; this module knows none of them by name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import AlertDelivery, Health
from sessions_app.services.audit import audit_record
from sessions_app.services.health.channels import alert_channels
from sessions_app.services.health.events import NOTICE_EVENTS, RECOVERED

__all__ = [
    "HEADLINES",
    "NOTICE_EVENTS",
    "PROBLEM_EVENTS",
    "RECOVERED",
    "alert_event",
    "alert_notice_queue",
    "alert_payload",
    "alerts_queue",
    "notice_payload",
]

# The event each problem state is alerted as; leaving all of them is a recovery.
PROBLEM_EVENTS: dict[str, str] = {
    Health.CONNECTOR_GONE: "connector_gone",
    Health.OBJECT_CHANGED: "object_changed",
    Health.DASHBOARD_KEY_LOST: "dashboard_key_lost",
    Health.UNREACHABLE: "outage",
    Health.ACCOUNT_BANNED: "account_banned",
    Health.ACCOUNT_FROZEN: "account_frozen",
}
HEADLINES = {
    "connector_gone": "the connector's Telegram session is gone (terminated, logged out or expired)",
    "object_changed": "its session object was changed outside the dashboard",
    "dashboard_key_lost": "the dashboard's own authorization was lost (the connector is not affected)",
    "outage": "the session store or Telegram has been unreachable for a while",
    "account_banned": "Telegram banned or deleted the account",
    "account_frozen": "Telegram froze the account",
    RECOVERED: "recovered",
}


def alert_event(previous: str, state: str) -> str | None:
    """The event a transition is alerted as, or None (a first healthy check, say, is no news)."""
    if state in PROBLEM_EVENTS:
        return PROBLEM_EVENTS[state]
    if previous in PROBLEM_EVENTS:
        return RECOVERED
    return None


def instance_url(instance: ConnectorInstance) -> str | None:
    if not settings.DASHBOARD_URL:
        return None
    return settings.DASHBOARD_URL + reverse("instance_detail", args=[instance.session])


def alert_payload(
    *, instance: ConnectorInstance, event: str, previous: str, state: str, reason: str, at: datetime
) -> dict[str, Any]:
    """The JSON a webhook receives; `text` is one sentence, so chat incoming webhooks post it as it is."""
    url = instance_url(instance)
    headline = HEADLINES[event]
    if event == RECOVERED:
        headline = f"recovered: {Health(state).label} again (was: {Health(previous).label})"
    text = f"teleconnect: {instance.name} ({instance.session}): {headline}" + (f", see {url}" if url else ".")
    return {
        "event": event,
        "session": instance.session,
        "name": instance.name,
        "status": state,
        "previous": previous,
        "instance_status": instance.status,
        "reason": reason,
        "at": at.isoformat(),
        "url": url,
        "text": text,
    }


def notice_payload(
    *, instance: ConnectorInstance, event: str, text: str, details: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """The JSON of a notice: who, what (`text`, one sentence) and the event's own fields (`details`)."""
    url = instance_url(instance)
    return {
        "event": event,
        "session": instance.session,
        "name": instance.name,
        "instance_status": instance.status,
        "at": at.isoformat(),
        "url": url,
        "text": f"teleconnect: {text}" + (f" See {url}" if url else ""),
        **details,
    }


def alert_notice_queue(
    *, instance: ConnectorInstance, event: str, text: str, details: dict[str, Any], at: datetime
) -> list[AlertDelivery]:
    """Queue a notice (one of NOTICE_EVENTS): something seen on the account that changes no health state."""
    payload = notice_payload(instance=instance, event=event, text=text, details=details, at=at)
    return _queue(instance=instance, event=event, payload=payload, at=at, audit={"event": event})


def alerts_queue(
    *, instance: ConnectorInstance, event: str, previous: str, state: str, reason: str, at: datetime
) -> list[AlertDelivery]:
    """One pending delivery per destination of each channel that sends `event`; the worker's sender sends them."""
    payload = alert_payload(instance=instance, event=event, previous=previous, state=state, reason=reason, at=at)
    return _queue(instance=instance, event=event, payload=payload, at=at, audit={"event": event, "status": state})


def _queue(
    *, instance: ConnectorInstance, event: str, payload: dict[str, Any], at: datetime, audit: dict[str, Any]
) -> list[AlertDelivery]:
    common: dict[str, Any] = {"instance": instance, "session": instance.session, "event": event, "payload": payload}
    deliveries = [
        AlertDelivery(
            channel=channel.name,
            destination=destination,
            target=channel.display(destination),
            next_attempt_at=at,
            **common,
        )
        for channel in alert_channels()
        if event in channel.events
        for destination in channel.destinations(instance)
    ]
    created = AlertDelivery.objects.bulk_create(deliveries)
    audit_record(
        instance=instance,
        actor=None,
        action="health.alert",
        detail={**audit, "deliveries": len(created)},
    )
    return created
