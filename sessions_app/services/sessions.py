"""The session object: save (conditional), verify, revoke, and resolving a write conflict.

The S3 object telegram/{SESSION}/session.txt is the product's main output: connectors load it at
start-up. Every write is conditional on the ETag we last saw, so a concurrent writer is never
overwritten silently; a store that is down never loses the session (it stays encrypted in the DB
with status "unsaved" until Save succeeds). Verify checks the connector's authorization through
the dashboard's own key and never connects with a key a connector may be holding, except once to
adopt a key the dashboard did not create.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.connector import CONNECTOR_NOT_LISTED, connector_sighting
from sessions_app.services.errors import ActionRefused, AlreadyRevoked, NoDashboardKey, NothingToRevoke, NothingToSave
from sessions_app.services.health.deliberate import health_note_revoked
from sessions_app.services.instances import instance_set_status
from sessions_app.services.keys import instance_adopt_key, key_fingerprint, key_retire
from sessions_app.services.operations import Actor, DashboardKeyLost, telegram_operation
from sessions_app.storage import LoadedSession, ObjectInfo, StoreConflict, StoreError, get_session_storage
from sessions_app.telegram.account import log_out, terminate_authorization
from sessions_app.telegram.client import KeyRole
from sessions_app.telegram.errors import NotAuthorized, SessionMalformed, SessionRevoked, TelegramError

_OBJECT_FIELDS = ("object_etag", "object_size", "object_last_modified", "object_version_id", "object_encryption")


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


def object_remember(instance: ConnectorInstance, info: ObjectInfo | None) -> tuple[str, ...]:
    """The stored object as the dashboard last saw it (the next conditional write's ETag); returns the fields to save."""
    instance.session_object.name = info.key if info else ""
    instance.object_etag = info.etag if info else ""
    instance.object_size = info.size if info else None
    instance.object_last_modified = info.last_modified if info else None
    instance.object_version_id = info.version_id if info else ""
    instance.object_encryption = info.encryption if info else ""
    return ("session_object", *_OBJECT_FIELDS)


def same_key(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    try:
        return key_fingerprint(a) == key_fingerprint(b)
    except SessionMalformed:
        return False


def _adopt_stored(*, instance: ConnectorInstance, actor: Actor, loaded: LoadedSession, action: str) -> None:
    """The stored object holds a key the dashboard did not create: adopt it (one short connection)."""
    _, account = instance_adopt_key(
        instance=instance, actor=actor, session_string=loaded.content, action=action, user=actor, marks_dead=True
    )
    with transaction.atomic():
        fields = object_remember(instance, loaded.info)
        instance.verified_at, instance.verify_result = timezone.now(), "alive"
        instance_set_status(
            instance=instance,
            status=InstanceStatus.ACTIVE,
            actor=actor,
            fields=(*fields, "verified_at", "verify_result"),
        )
        audit_record(
            instance=instance,
            actor=actor,
            action=action,
            detail={
                "result": "alive",
                "adopted": True,
                "etag": loaded.info.etag if loaded.info else "",
                "telegram_user_id": account.user_id,
            },
        )


def session_save(*, instance: ConnectorInstance, actor: Actor, overwrite_etag: str | None = None) -> ObjectInfo:
    """Write the instance's session to the store, conditional on the last ETag we saw.

    StoreConflict when someone else wrote the object (the caller offers the explicit choice);
    StoreError when the store fails, after marking the instance "unsaved" (the DB copy stays).
    `overwrite_etag` is the user's explicit "overwrite it" choice after a conflict.
    """
    if not instance.session_string:
        refusal = NothingToSave(NothingToSave.after_revoke if instance.status == InstanceStatus.REVOKED else None)
        detail = {"refusal": type(refusal).__name__}
        audit_record(instance=instance, actor=actor, action="session.save", outcome="refused", detail=detail)
        raise refusal
    store = get_session_storage()
    expected = overwrite_etag or instance.object_etag or None
    try:
        try:
            info: ObjectInfo = store.save(instance.session, instance.session_string, expected_etag=expected)
        except StoreConflict as conflict:
            current = conflict.current
            if current is None or current.size == 0:
                # A missing or empty object is the connector's "not logged in" (or a revoke, or a
                # delete outside the dashboard): no session to lose, so ours is written again.
                info = store.save(
                    instance.session, instance.session_string, expected_etag=current.etag if current else None
                )
                replaced = "empty object" if current is not None else "missing object"
                audit_record(instance=instance, actor=actor, action="session.save", detail={"replaced": replaced})
            else:
                raise
    except StoreConflict as conflict:
        instance_set_status(instance=instance, status=InstanceStatus.UNSAVED, actor=actor, error=conflict.message)
        audit_record(
            instance=instance,
            actor=actor,
            action="session.save",
            outcome="conflict",
            detail={"etag": conflict.current.etag if conflict.current else ""},
        )
        raise
    except StoreError as error:
        instance_set_status(instance=instance, status=InstanceStatus.UNSAVED, actor=actor, error=error.message)
        audit_record(
            instance=instance, actor=actor, action="session.save", outcome="failed", detail={"reason": error.reason}
        )
        raise
    fields = object_remember(instance, info)
    instance.saved_at = timezone.now()
    instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=actor, fields=(*fields, "saved_at"))
    audit_record(
        instance=instance,
        actor=actor,
        action="session.overwrite" if overwrite_etag else "session.save",
        detail={"etag": info.etag, "version_id": info.version_id, "size": info.size},
    )
    return info


def session_save_after_login(*, instance: ConnectorInstance, actor: Actor) -> str:
    """Persist right after sign-in, as the connector does; a failure leaves the instance "unsaved"."""
    try:
        session_save(instance=instance, actor=actor)
    except StoreError as error:
        return error.message
    return ""


def session_use_stored(*, instance: ConnectorInstance, actor: Actor) -> ConnectorInstance:
    """The explicit "use the stored one" choice: adopt the object's session after checking it works."""
    store = get_session_storage()
    loaded = store.load(instance.session)
    if loaded.is_fresh:
        # Nothing to adopt: the stored object is empty, so ours can be written over it.
        session_save(instance=instance, actor=actor)
        return instance
    if same_key(loaded.content, instance.session_string):
        fields = object_remember(instance, loaded.info)
        instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=actor, fields=fields)
        audit_record(instance=instance, actor=actor, action="session.use_stored", detail={"result": "same key"})
        return instance
    _adopt_stored(instance=instance, actor=actor, loaded=loaded, action="session.use_stored")
    return instance


def _verify_known_key(
    *, instance: ConnectorInstance, actor: Actor, loaded: LoadedSession, now: datetime.datetime
) -> str:
    """The object holds the connector key we know: ask Telegram through the dashboard's own key."""
    sighting = connector_sighting(instance=instance, actor=actor, action="session.verify")
    fields = object_remember(instance, loaded.info)
    if not sighting.alive:
        instance.verified_at, instance.verify_result = now, "revoked"
        instance_set_status(
            instance=instance,
            status=InstanceStatus.REVOKED,
            actor=actor,
            error=CONNECTOR_NOT_LISTED,
            fields=(*fields, "verified_at", "verify_result"),
        )
        audit_record(instance=instance, actor=actor, action="session.verify", detail={"result": "revoked"})
        return "revoked"
    instance.verified_at, instance.verify_result = now, "alive"
    instance.connector_active_at = sighting.listed.date_active if sighting.listed is not None else None
    instance_set_status(
        instance=instance,
        status=InstanceStatus.ACTIVE,
        actor=actor,
        fields=(*fields, "verified_at", "verify_result", "connector_active_at"),
    )
    audit_record(instance=instance, actor=actor, action="session.verify", detail={"result": "alive"})
    return "alive"


def session_verify(*, instance: ConnectorInstance, actor: Actor) -> str:
    """Is the stored session alive? Returns "alive", "fresh", "expired" or "revoked".

    A key we know is checked through the dashboard's own key (the connector's authorization is
    still listed). An object written by a connector or generate_session is adopted: its key is
    used once to mint the dashboard's key. Store and Telegram failures raise and change nothing.
    """
    store = get_session_storage()
    try:
        loaded = store.load(instance.session)
    except StoreError as error:
        audit_record(
            instance=instance, actor=actor, action="session.verify", outcome="failed", detail={"reason": error.reason}
        )
        raise
    now = timezone.now()
    if loaded.is_fresh:
        fields = object_remember(instance, loaded.info)
        instance.verified_at, instance.verify_result = now, "fresh"
        status = InstanceStatus.UNSAVED if instance.session_string else InstanceStatus.NEW
        if instance.status in (InstanceStatus.REVOKED, InstanceStatus.EXPIRED) and not instance.session_string:
            status = InstanceStatus(instance.status)
        instance_set_status(
            instance=instance, status=status, actor=actor, fields=(*fields, "verified_at", "verify_result")
        )
        audit_record(instance=instance, actor=actor, action="session.verify", detail={"result": "fresh"})
        return "fresh"
    if same_key(loaded.content, instance.session_string):
        if not instance.dashboard_session:
            raise NoDashboardKey()
        return _verify_known_key(instance=instance, actor=actor, loaded=loaded, now=now)
    try:
        _adopt_stored(instance=instance, actor=actor, loaded=loaded, action="session.verify")
    except (SessionRevoked, NotAuthorized) as dead:
        # telegram_operation has set the status; the object is remembered as what was checked.
        result = "expired" if isinstance(dead, SessionRevoked) and dead.reason == "expired" else "revoked"
        fields = object_remember(instance, loaded.info)
        instance.verified_at, instance.verify_result = now, result
        instance.save(update_fields=[*fields, "verified_at", "verify_result", "updated_at"])
        return result
    return "alive"


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
            instance=instance, status=InstanceStatus.REVOKED, actor=actor, fields=(*fields, "session_string")
        )
        audit_record(
            instance=instance,
            actor=actor,
            action="session.revoke",
            detail={"logged_out": logged_out, "etag": cleared.etag},
        )
        health_note_revoked(instance=instance, actor=actor)
    return RevokeOutcome(logged_out, True)
