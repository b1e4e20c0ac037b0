"""What the instance page says about its state: how its session ended, the last Verify's finding, and why
an action cannot run now."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance, InstanceStatus
from sessions_app.services.health.deliberate import revoke_worded


@dataclass(frozen=True)
class Ended:
    """A session that no longer works, said once: the badge's words, what ended it, and who found it when."""

    label: str
    sentence: str
    found: str


def _since(instance: ConnectorInstance, *, by: bool) -> str:
    """When the status was set and, with `by`, who or what found it, from the audited status change."""
    change = (
        AuditEvent.objects.filter(instance=instance, action="instance.status", detail__to=instance.status)
        .order_by("-id")
        .only("created_at", "actor_name")
        .first()
    )
    if change is None:
        return ""
    since = f"since {timezone.localtime(change.created_at):%Y-%m-%d %H:%M}"
    if not by:
        return since
    # A person's Verify, Check now or other action found it; with no one, the schedule's check or a command.
    return f"{since}, found by {change.actor_name or 'the dashboard'}"


def session_ended(instance: ConnectorInstance) -> Ended | None:
    """How the session ended, when it did (revoked or expired); None while it may still work.

    A revoke by the team words its reason "Revoked by …" (services.health.deliberate.revoked_by);
    any other revoked status was found by a check or a Verify: the session was ended outside the
    dashboard (from another device, by the account, or by Telegram).
    """
    reason = instance.last_error
    if instance.status == InstanceStatus.REVOKED and revoke_worded(reason):
        return Ended("revoked", reason, _since(instance, by=False))
    if instance.status == InstanceStatus.REVOKED:
        said = reason or "Telegram no longer accepts the connector's session."
        return Ended("ended outside the dashboard", f"Ended outside the dashboard: {said}", _since(instance, by=True))
    if instance.status == InstanceStatus.EXPIRED:
        said = reason or "Telegram says the session has expired."
        return Ended("expired", f"Expired: {said}", _since(instance, by=True))
    return None


# What each Verify result means, in the user's words (services/sessions.session_verify returns these).
_VERIFY_FINDINGS = {
    "alive": "alive: Telegram still lists the connector's session",
    "fresh": "empty: the stored object is empty or missing, so a connector starting now would not be logged in",
    "expired": "expired: Telegram says the stored session has expired",
    "revoked": "revoked: the stored session was logged out or terminated elsewhere",
}


def last_verify_finding(instance: ConnectorInstance) -> str:
    """The last Verify's result as a sentence, or "" when it never ran (the page says "never")."""
    if instance.verified_at is None:
        return ""
    result = instance.verify_result
    return _VERIFY_FINDINGS.get(result, result or "no result recorded")


def save_unavailable(instance: ConnectorInstance) -> str:
    """Why Save cannot work now ("" when it can): there is no session kept here to write."""
    if instance.has_session:
        return ""
    if instance.status == InstanceStatus.REVOKED:
        return "Nothing to save: the session was revoked. Log in again first."
    return "Nothing to save yet: log in first."


def revoke_unavailable(instance: ConnectorInstance) -> str:
    """Why Revoke cannot work now ("" when it can): it was revoked and nothing is left to end.

    A half-done revoke (the object still holds the old string) or an object a connector wrote
    since keeps Revoke available: it has something to end.
    """
    object_empty = not instance.object_etag or not instance.object_size
    if (
        instance.status == InstanceStatus.REVOKED
        and not instance.has_session
        and not instance.has_dashboard_key
        and object_empty
    ):
        return "Already revoked: no session is left to end and the stored object is empty."
    return ""
