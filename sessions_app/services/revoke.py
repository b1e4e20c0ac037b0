"""Revoke: end both authorizations (the connector's and the dashboard's), then empty the session object.

Idempotent and honest about halves: a retry after a half-done revoke skips what already happened,
and RevokeIncomplete says exactly which half did.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, AlreadyRevoked, NothingToRevoke
from sessions_app.services.health.deliberate import health_note_revoked, revoked_by
from sessions_app.services.instances import instance_set_status
from sessions_app.services.keys import key_retire
from sessions_app.services.operations import Actor, DashboardKeyLost, telegram_operation
from sessions_app.services.sessions import object_remember, same_key
from sessions_app.storage import StoreError, get_session_storage
from sessions_app.telegram.account import log_out, terminate_authorization
from sessions_app.telegram.client import KeyRole
from sessions_app.telegram.errors import TelegramError


@dataclass(frozen=True)
class RevokeOutcome:
    telegram_logged_out: bool
    object_cleared: bool


class RevokeIncomplete(Exception):
    """Revoke stopped half-way; `message` says exactly which half happened and how to finish."""

    def __init__(self, message: str, outcome: RevokeOutcome) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome


def _end_connector_authorization(*, instance: ConnectorInstance, actor: Actor, string: str) -> None:
    """End the connector's authorization: from the dashboard's key where Telegram allows, else auth.logOut."""
    own = same_key(string, instance.session_string)
    if own and instance.dashboard_session and instance.connector_authorization_hash is not None:
        try:
            with telegram_operation(instance=instance, actor=actor, action="session.revoke") as op:
                terminate_authorization(
                    session=op.session,
                    api=op.api,
                    label=op.label,
                    authorization_hash=instance.connector_authorization_hash,
                )
            return
        except (TelegramError, ActionRefused):
            pass  # e.g. the 24-hour rule: the connector's own key logs itself out below
    with telegram_operation(
        instance=instance,
        actor=actor,
        action="session.revoke",
        role=KeyRole.CONNECTOR,
        session=string,
        marks_dead=False,
    ) as op:
        log_out(session=op.session, api=op.api, label=op.label)


def _end_dashboard_authorization(*, instance: ConnectorInstance, actor: Actor) -> None:
    if not instance.dashboard_session:
        return
    if not key_retire(instance=instance, actor=actor, old=instance.dashboard_session):
        return  # kept (and audited): a retry of Revoke ends it
    instance.dashboard_session = ""
    instance.dashboard_key_fingerprint = None
    instance.dashboard_authorization_hash = None
    instance.save(
        update_fields=["dashboard_session", "dashboard_key_fingerprint", "dashboard_authorization_hash", "updated_at"]
    )


def session_revoke(*, instance: ConnectorInstance, actor: Actor) -> RevokeOutcome:
    """End both authorizations (the connector's and the dashboard's), then write an empty object.

    Idempotent: a retry after a half-done revoke skips the half that already happened. With
    nothing left to end (no key here, an empty object) it raises AlreadyRevoked and changes nothing.
    """
    store = get_session_storage()
    key = f"{store.location.rstrip('/')}/{instance.object_key}"
    string = instance.session_string
    stored_info = None
    if not string:
        try:
            loaded = store.load(instance.session)
        except StoreError as error:
            raise RevokeIncomplete(
                f"Nothing was revoked: the session object could not be read ({error.message}).",
                RevokeOutcome(False, False),
            ) from None
        string, stored_info = loaded.content, loaded.info
        if loaded.is_fresh and not instance.dashboard_session:
            # Nothing on Telegram or in the store to end: say so instead of writing the empty object again.
            refusal = AlreadyRevoked() if instance.status == InstanceStatus.REVOKED else NothingToRevoke()
            detail = {"refusal": type(refusal).__name__}
            audit_record(instance=instance, actor=actor, action="session.revoke", outcome="refused", detail=detail)
            raise refusal
    logged_out = False
    if string:
        try:
            _end_connector_authorization(instance=instance, actor=actor, string=string)
        except (TelegramError, ActionRefused) as error:
            raise RevokeIncomplete(
                f"Nothing was revoked: Telegram did not confirm the logout ({error.message}). "
                "The session still works; retry Revoke.",
                RevokeOutcome(False, False),
            ) from None
        logged_out = True
        with transaction.atomic():
            instance.session_string = ""
            instance.connector_key_fingerprint = None
            instance.connector_authorization_hash = None
            instance_set_status(
                instance=instance,
                status=InstanceStatus.REVOKED,
                actor=actor,
                error=revoked_by(actor),
                fields=("session_string", "connector_key_fingerprint", "connector_authorization_hash"),
            )
            audit_record(instance=instance, actor=actor, action="session.logout")
            health_note_revoked(instance=instance, actor=actor)  # now, not at the next check; never alerted
    try:
        _end_dashboard_authorization(instance=instance, actor=actor)
    except DashboardKeyLost:
        pass  # already gone: nothing left to end
    try:
        # The object just read (when no key was kept here) is newer than the ETag remembered.
        expected = (stored_info.etag if stored_info else None) or instance.object_etag or None
        if expected is None:
            current = store.head(instance.session)
            expected = current.etag if current else None
        cleared = store.clear(instance.session, expected_etag=expected)
    except StoreError as error:
        instance_set_status(
            instance=instance,
            status=InstanceStatus.REVOKED,
            actor=actor,
            error=f"Telegram logout done; emptying {key} failed: {error.message}",
        )
        audit_record(
            instance=instance,
            actor=actor,
            action="session.revoke",
            outcome="partial",
            detail={"half": "store", "reason": error.reason},
        )
        half = (
            "Telegram logged the session out (it no longer works)"
            if logged_out
            else "The session was already logged out"
        )
        raise RevokeIncomplete(
            f"{half}, but the object {key} still holds the old string: {error.message} Retry Revoke to empty it.",
            RevokeOutcome(logged_out, False),
        ) from None
    with transaction.atomic():
        fields = object_remember(instance, cleared)
        instance.session_string = ""
        instance_set_status(
            instance=instance,
            status=InstanceStatus.REVOKED,
            actor=actor,
            error=revoked_by(actor),
            fields=(*fields, "session_string"),
        )
        audit_record(
            instance=instance,
            actor=actor,
            action="session.revoke",
            detail={"logged_out": logged_out, "etag": cleared.etag},
        )
        health_note_revoked(instance=instance, actor=actor)
    return RevokeOutcome(logged_out, True)
