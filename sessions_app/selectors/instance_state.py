"""What the instance page says about its state: the last Verify's finding, and why an action cannot run now."""

from __future__ import annotations

from sessions_app.models import ConnectorInstance, InstanceStatus

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
