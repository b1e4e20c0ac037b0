"""How the dashboard reaches Telegram for an instance (imported by sessions_app.models).

TelegramLease: one live connection per SESSION across processes.

InstanceProxy is an instance's own way out to Telegram. ServedRequest: while an archive run holds
the dashboard's key, a health check does not take the connection from it: it leaves the request
here and the run sends it over its own connection between two chunks, writing the answer back. A row is the handoff between processes (the web's "Check now" and a
worker's run) as well as between two threads of one worker.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from sessions_app.crypto import EncryptedTextField


class InstanceProxy(models.Model):
    """The instance's own proxy to Telegram; without one, TELEGRAM_PROXY (or a direct connection).

    The URL holds credentials (or the MTProxy secret), so it is encrypted and never shown; `masked`
    (scheme://host:port) is what pages, the audit trail and the admin show.
    """

    instance = models.OneToOneField(
        "sessions_app.ConnectorInstance", on_delete=models.CASCADE, related_name="own_proxy"
    )
    url = EncryptedTextField()  # parsed by sessions_app.telegram.proxy.parse_proxy
    masked = models.CharField(max_length=300)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        app_label = "sessions_app"

    def __str__(self) -> str:
        return f"{self.masked} for instance {self.instance_id}"


class ServedRequest(models.Model):
    """One request for the lease holder to send for someone else, and its answer."""

    session = models.CharField(max_length=64, db_index=True)
    holder = models.CharField(max_length=100)  # the lease holder asked to serve it
    method = models.CharField(max_length=60)  # Telegram's name, e.g. account.getAuthorizations
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)  # the sentence of a refusal, instead of an answer

    class Meta:
        app_label = "sessions_app"
        indexes = [models.Index(fields=["session", "holder", "answered_at"], name="served_request_pending")]

    def __str__(self) -> str:
        return f"{self.method} for {self.session} ({'answered' if self.answered_at else 'waiting'})"


class TelegramLease(models.Model):
    """One live Telegram connection per SESSION across processes (two would risk AUTH_KEY_DUPLICATED)."""

    session = models.CharField(max_length=64, primary_key=True)
    holder = models.CharField(max_length=100)
    purpose = models.CharField(max_length=60, blank=True)
    expires_at = models.DateTimeField()
    # Set by someone waiting for the lease: a long holder (an archive run) hands over between chunks.
    wanted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"lease on {self.session} until {self.expires_at:%H:%M:%S}"
