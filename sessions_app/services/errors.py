"""Refusals that never reached Telegram: the action cannot run in the instance's current state.

Views catch these and sessions_app.telegram.errors.TelegramError on purpose, as two different
things: a refusal means "not now / not like this" and changed nothing; a TelegramError is what
Telegram (or the way to it) answered.
"""

from __future__ import annotations


class ActionRefused(Exception):
    """Base: `message` is safe to show on a page and says what to do next."""

    default_message = "This action cannot run right now."
    field: str | None = None  # the form field the refusal belongs to, if any

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InstanceBusy(ActionRefused):
    default_message = (
        "Another operation is using this instance's Telegram connection right now. Try again in a few seconds."
    )


class NoSession(ActionRefused):
    default_message = "This instance has no working session: log it in (or Verify its stored session) first."


class NoDashboardKey(ActionRefused):
    default_message = (
        "The dashboard has no authorization of its own for this instance yet, so it cannot do this without "
        "touching the connector's key. Use “Mint the dashboard's authorization” on the instance page first."
    )


class NothingToSave(ActionRefused):
    default_message = "This instance has no session to save yet. Log it in first."
    after_revoke = "This instance's session was revoked, so there is nothing to save. Log in again first."


class LoginRefused(ActionRefused):
    """A login step out of order, a throttle, or a flood wait still running."""


class ArchiveRefused(ActionRefused):
    """A run cannot start; `message` says why."""


class KeyInUse(ActionRefused):
    """The key already belongs to another instance (one key, one instance)."""

    field = "session_string"


class NothingToRevoke(ActionRefused):
    """Revoke with nothing left to end: no key here and an empty (or missing) stored object."""

    default_message = (
        "This instance has no session to revoke: none is kept here and its stored object is empty or missing. "
        "Nothing was changed."
    )


class AlreadyRevoked(NothingToRevoke):
    default_message = (
        "This instance was already revoked: Telegram has no session of it to end and its stored object is "
        "already empty. Nothing was changed. Log in again to give it a new session."
    )
