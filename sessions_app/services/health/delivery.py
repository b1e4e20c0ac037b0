"""Sending queued alerts: a JSON POST per webhook, an email per address, each with a timeout.

A failed attempt is retried after ALERT_RETRY_SECONDS, then twice as long each time, until
ALERT_MAX_ATTEMPTS; every attempt's outcome is audited and shown on /alerts/. Each delivery is
claimed before it is sent, so several senders (workers, `check_sessions`) never send one twice;
a claim left by a killed sender expires and the delivery is sent again.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.utils import timezone

from sessions_app.models_health import AlertDelivery, DeliveryChannel, DeliveryStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.health.alerts import HEADLINES, webhook_key

logger = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """One attempt failed; the message says why in a few words (never the webhook's URL)."""


def _post_webhook(url: str, payload: dict[str, object], timeout: float) -> None:
    body = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(  # noqa: S310 - ALERT_WEBHOOK_URLS is checked to be http(s) at start-up
        url,
        data=body,
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


def _send_email(address: str, payload: dict[str, object], timeout: float) -> None:
    event = str(payload.get("event", ""))
    subject = f"[teleconnect] {payload.get('session')}: {HEADLINES.get(event, event)}"
    lines = [str(payload.get("text", "")), "", str(payload.get("reason", ""))]
    if payload.get("url"):
        lines += ["", f"Open the instance: {payload['url']}"]
    lines += ["", f"At {payload.get('at')}. You get this as an owner of the instance or through ALERT_EMAILS."]
    message = EmailMessage(
        subject=subject,
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        connection=get_connection(timeout=timeout),
    )
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"the mail server refused or did not answer: {error}") from None


def _send(delivery: AlertDelivery) -> None:
    timeout = float(settings.ALERT_TIMEOUT_SECONDS)
    if delivery.channel == DeliveryChannel.WEBHOOK:
        url = next((u for u in settings.ALERT_WEBHOOK_URLS if webhook_key(u) == delivery.target_key), None)
        if url is None:
            raise DeliveryFailed("this URL is no longer in ALERT_WEBHOOK_URLS")
        _post_webhook(url, delivery.payload, timeout)
    else:
        _send_email(delivery.target, delivery.payload, timeout)


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
    delivery.save(
        update_fields=["attempts", "claimed_until", "last_error", "status", "delivered_at", "next_attempt_at"]
    )
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
