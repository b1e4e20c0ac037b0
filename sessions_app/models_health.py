"""Session health: each instance's watched state, its last checks, alert deliveries and the one schedule.

These models live beside models.py, which imports them so Django registers them (models.py is at
the module size limit); they name ConnectorInstance by its label, so the import goes one way. Services in sessions_app.services.health write them; selectors.health reads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sessions_app.crypto import EncryptedTextField


class Health(models.TextChoices):
    """What the last check found. An instance's state is never BUSY (that check did not run)."""

    UNKNOWN = "unknown", "not checked yet"
    HEALTHY = "healthy", "healthy"
    IDLE = "idle", "nothing to watch"
    CONNECTOR_GONE = "connector_gone", "connector session gone"
    OBJECT_CHANGED = "object_changed", "object changed outside the dashboard"
    DASHBOARD_KEY_LOST = "dashboard_key_lost", "dashboard key lost"
    UNREACHABLE = "unreachable", "store or Telegram unreachable"
    ACCOUNT_BANNED = "account_banned", "account banned or deleted"
    ACCOUNT_FROZEN = "account_frozen", "account frozen"
    BUSY = "busy", "not checked: instance busy"

    @classmethod
    def problems(cls) -> tuple[Health, ...]:
        """The states the team is alerted about and the list's "needs attention" filter shows."""
        return (
            cls.CONNECTOR_GONE,
            cls.OBJECT_CHANGED,
            cls.DASHBOARD_KEY_LOST,
            cls.UNREACHABLE,
            cls.ACCOUNT_BANNED,
            cls.ACCOUNT_FROZEN,
        )


class InstanceHealth(models.Model):
    """One instance's health as the checks settled it, and when the schedule checks it next."""

    instance = models.OneToOneField(
        "sessions_app.ConnectorInstance", primary_key=True, on_delete=models.CASCADE, related_name="health"
    )
    # Indexed: the list's "needs attention" count and health filters find the few problems by it.
    state = models.CharField(max_length=20, choices=Health.choices, default=Health.UNKNOWN, db_index=True)
    reason = models.TextField(blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, db_index=True)  # the list's "last checked" sort
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while a check runs (schedule, command or "Check now"): at most one check of an instance at a time.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # The first of the consecutive checks that could not reach the store or Telegram (None once one could).
    failing_since = models.DateTimeField(null=True, blank=True)
    # The object as the checks last read it, so an unchanged ETag costs a HEAD and no GET: its ETag and
    # the keyed fingerprint of the auth key in it ("" for an empty object).
    object_etag = models.CharField(max_length=100, blank=True)
    object_key_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name_plural = "instance health"

    def __str__(self) -> str:
        return f"health of {self.instance_id}: {self.state}"

    @property
    def needs_attention(self) -> bool:
        return self.state in Health.problems()


class HealthCheck(models.Model):
    """One check of one instance (the last HEALTH_CHECKS_KEPT per instance are kept)."""

    instance = models.ForeignKey(
        "sessions_app.ConnectorInstance", on_delete=models.CASCADE, related_name="health_checks"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    trigger = models.CharField(max_length=10)  # "schedule", "command" or "web"
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.CharField(max_length=20, choices=Health.choices)
    object_finding = models.CharField(max_length=20, blank=True)
    connector_finding = models.CharField(max_length=20, blank=True)
    connector_active_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["instance", "-id"], name="health_check_latest")]

    def __str__(self) -> str:
        return f"check of {self.instance_id} at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.result}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SENDING = "sending", "sending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class AlertDelivery(models.Model):
    """One alert to one destination of one channel (a webhook URL, an email address), with its attempts."""

    instance = models.ForeignKey(
        "sessions_app.ConnectorInstance",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_deliveries",
    )
    session = models.CharField(max_length=64, db_index=True)
    event = models.CharField(max_length=30)
    # The AlertChannel's name (ALERT_CHANNELS): no choices, so a new channel needs no migration.
    channel = models.CharField(max_length=20)
    # What pages show: the channel's display of the destination (a webhook's scheme://host/… only).
    target = models.CharField(max_length=300)
    # Where it is sent, encrypted (a webhook URL often holds a token), as it was when queued; emptied once
    # the delivery is delivered or failed, so no copy of a token outlives its use.
    destination = EncryptedTextField()
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alert_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} alert for {self.session} by {self.channel} to {self.target}: {self.status}"


class HealthSchedule(models.Model):
    """The one schedule: the worker thread whose holder id is here runs it until expires_at (renewed often)."""

    NAME = "health"  # the one row's primary key

    name = models.CharField(max_length=20, primary_key=True)
    holder = models.CharField(max_length=100, blank=True)
    host = models.CharField(max_length=200, blank=True)  # hostname and pid, for the page
    started_at = models.DateTimeField(null=True, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"health schedule held by {self.host or 'nobody'} until {self.expires_at:%H:%M:%S}"
