"""Sending queued alerts: each delivery by its channel (channels.py), to the destination it was queued for.

A failed attempt is retried after ALERT_RETRY_SECONDS, then twice as long each time, until
ALERT_MAX_ATTEMPTS; every attempt's outcome is audited and shown on /alerts/. Each delivery is
claimed before it is sent, so several senders (workers, `check_sessions`) never send one twice;
a claim left by a killed sender expires and the delivery is sent again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sessions_app.crypto import UNREADABLE_BECAUSE, SecretUnreadable
from sessions_app.models_health import AlertDelivery, DeliveryStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.health.channels import DeliveryFailed, alert_channel

logger = logging.getLogger(__name__)


def _send(delivery: AlertDelivery) -> None:
    channel = alert_channel(delivery.channel)
    if channel is None:
        raise DeliveryFailed(f"the {delivery.channel} channel is no longer in ALERT_CHANNELS")
    try:
        destination = delivery.destination
    except SecretUnreadable:
        raise DeliveryFailed(f"its destination cannot be decrypted: {UNREADABLE_BECAUSE}") from None
    channel.send(destination, delivery.payload, timeout=float(settings.ALERT_TIMEOUT_SECONDS))


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: ALERT_RETRY_SECONDS, then twice as long each time."""
    return timedelta(seconds=settings.ALERT_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def _claim(delivery_id: int, now: datetime) -> bool:
    until = now + timedelta(seconds=settings.ALERT_TIMEOUT_SECONDS * 3 + 30)
    return (
        AlertDelivery.objects.filter(pk=delivery_id)
        .filter(_due(now))
        .update(status=DeliveryStatus.SENDING, claimed_until=until)
        == 1
    )


def _due(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=DeliveryStatus.SENDING, claimed_until__lt=now
    )


def alert_deliver(delivery: AlertDelivery) -> AlertDelivery:
    """One attempt at a claimed delivery; records and audits the outcome."""
    try:
        _send(delivery)
    except DeliveryFailed as failure:
        error = str(failure)
    except Exception as unexpected:  # noqa: BLE001 - an email backend's own error must not stop the sender
        logger.exception("alert delivery %s failed unexpectedly", delivery.pk)
        error = f"unexpected error ({type(unexpected).__name__})"
    else:
        error = ""
    now = timezone.now()
    delivery.attempts += 1
    delivery.claimed_until = None
    delivery.last_error = error
    if not error:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        outcome = "ok"
    elif delivery.attempts >= settings.ALERT_MAX_ATTEMPTS:
        delivery.status, outcome = DeliveryStatus.FAILED, "failed"
    else:
        delivery.status, outcome = DeliveryStatus.PENDING, "retrying"
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    fields = ["attempts", "claimed_until", "last_error", "status", "delivered_at", "next_attempt_at"]
    if delivery.status != DeliveryStatus.PENDING:
        # Never sent again: no copy of a webhook's token is kept at rest longer than needed.
        delivery.destination = ""
        fields.append("destination")
    delivery.save(update_fields=fields)
    detail: dict[str, object] = {
        "delivery": delivery.pk,
        "event": delivery.event,
        "channel": delivery.channel,
        "target": delivery.target,
        "attempt": delivery.attempts,
    }
    if error:
        detail["error"] = error
    audit_record(instance=delivery.instance, actor=None, action="alert.delivery", outcome=outcome, detail=detail)
    return delivery


def alerts_deliver_due(*, limit: int = 20, now: datetime | None = None) -> int:
    """Send what is due (oldest first), at most `limit`; returns how many attempts were made."""
    now = now or timezone.now()
    due = AlertDelivery.objects.filter(_due(now)).order_by("next_attempt_at", "id").values_list("id", flat=True)
    sent = 0
    for delivery_id in list(due[:limit]):
        if not _claim(delivery_id, now):
            continue  # another sender took it
        alert_deliver(AlertDelivery.objects.select_related("instance").get(pk=delivery_id))
        sent += 1
    return sent


def alerts_next_due() -> datetime | None:
    """When the next pending delivery is due (the sender sleeps until then, a second at most)."""
    return (
        AlertDelivery.objects.filter(status=DeliveryStatus.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
