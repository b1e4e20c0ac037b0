"""The security watch: what the health checks last saw of each watched account, and its authorizations.

These models live beside models.py, which imports them so Django registers them (models.py is at
the module size limit); they name ConnectorInstance by its label, so the import goes one way.
sessions_app.services.health.watch writes them (each check), services.authorizations marks an
authorization as known; selectors.authorizations reads them for the Active sessions page.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AccountWatch(models.Model):
    """One instance's account as the checks last saw it: the authorizations' baseline, the connector's country, 2FA."""

    instance = models.OneToOneField(
        "sessions_app.ConnectorInstance", primary_key=True, on_delete=models.CASCADE, related_name="account_watch"
    )
    # The connector key whose authorizations are the baseline: another key (a login, an import) takes a
    # new baseline, so what was on the account before it is not news.
    connector_key_fingerprint = models.CharField(max_length=64, blank=True)
    baseline_at = models.DateTimeField(null=True, blank=True)
    # The country Telegram showed for the connector's authorization ("" until first seen).
    connector_country = models.CharField(max_length=100, blank=True)
    # account.getPassword as last read (two_step None: not read yet), and since when it reads so. The
    # email fields are Telegram's masked patterns ("a***@e***.com"), never an address.
    two_step = models.BooleanField(null=True, blank=True)
    recovery_email = models.BooleanField(null=True, blank=True)
    login_email = models.CharField(max_length=200, blank=True)
    email_pending = models.CharField(max_length=200, blank=True)
    # When Telegram removes the password after an account.resetPassword nobody declined (None: no request).
    reset_pending = models.DateTimeField(null=True, blank=True)
    security_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"security watch of {self.instance_id}"


class AuthorizationOrigin(models.TextChoices):
    BASELINE = "baseline", "present when the watch began or after a login"
    OWN = "own", "this instance's connector or dashboard"
    NEW = "new", "new since the baseline"
    MARKED = "marked", "marked as known before a check saw it"


class WatchedAuthorization(models.Model):
    """One authorization of a watched account that the checks have seen (or the team marked as known).

    An authorization without a row is new: the next check alerts it once and records it here. Rows
    of authorizations no longer listed are dropped by the check (Telegram never reuses a hash).
    """

    instance = models.ForeignKey(
        "sessions_app.ConnectorInstance", on_delete=models.CASCADE, related_name="watched_authorizations"
    )
    authorization_hash = models.BigIntegerField()
    origin = models.CharField(max_length=10, choices=AuthorizationOrigin.choices)
    first_seen_at = models.DateTimeField()
    # What it was when first seen ("iPhone 15 Pro, Telegram iOS 12.2, 198.51.100.23 (NL)"), for admin and audit.
    description = models.CharField(max_length=300, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    known_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    known_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["instance", "first_seen_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "authorization_hash"], name="watched_authorization_once")
        ]

    def __str__(self) -> str:
        return f"authorization {self.authorization_hash} of {self.instance_id} ({self.origin})"
