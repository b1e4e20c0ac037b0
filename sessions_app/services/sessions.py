"""The session object: save (conditional), verify, and resolving a write conflict (revoke: services.revoke).

The S3 object telegram/{SESSION}/session.txt is the product's main output: connectors load it at
start-up. Every write is conditional on the ETag we last saw, so a concurrent writer is never
overwritten silently; a store that is down never loses the session (it stays encrypted in the DB
with status "unsaved" until Save succeeds). Verify checks the connector's authorization through
the dashboard's own key and never connects with a key a connector may be holding, except once to
adopt a key the dashboard did not create.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.connector import CONNECTOR_NOT_LISTED, connector_sighting
from sessions_app.services.errors import NoDashboardKey, NothingToSave
from sessions_app.services.instances import instance_set_status
from sessions_app.services.keys import instance_adopt_key, key_fingerprint
from sessions_app.services.operations import Actor
from sessions_app.storage import LoadedSession, ObjectInfo, StoreConflict, StoreError, get_session_storage
from sessions_app.telegram.errors import NotAuthorized, SessionMalformed, SessionRevoked

_OBJECT_FIELDS = ("object_etag", "object_size", "object_last_modified", "object_version_id", "object_encryption")


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


def _adopt_stored(
    *, instance: ConnectorInstance, actor: Actor, loaded: LoadedSession, action: str, password: str | None = None
) -> None:
    """The stored object holds a key the dashboard did not create: adopt it (one short connection).

    `password`: the account's 2FA password, used once for the mint when the account has one.
    """
    _, account = instance_adopt_key(
        instance=instance,
        actor=actor,
        session_string=loaded.content,
        action=action,
        password=password,
        user=actor,
        marks_dead=True,
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


def stored_conflict(instance: ConnectorInstance) -> StoreConflict:
    """The write conflict as it stands now: what a save of this instance's session would meet."""
    return get_session_storage().conflict(instance.session, expected_etag=instance.object_etag)


def session_use_stored(*, instance: ConnectorInstance, actor: Actor, password: str | None = None) -> ConnectorInstance:
    """The explicit "use the stored one" choice: adopt the object's session after checking it works.

    `password`: the account's 2FA password, used once to mint the dashboard's key from the
    stored session when the account has one (never stored).
    """
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
    _adopt_stored(instance=instance, actor=actor, loaded=loaded, action="session.use_stored", password=password)
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


def session_verify(*, instance: ConnectorInstance, actor: Actor, password: str | None = None) -> str:
    """Is the stored session alive? Returns "alive", "fresh", "expired" or "revoked".

    A key we know is checked through the dashboard's own key (the connector's authorization is
    still listed). An object written by a connector or generate_session is adopted: its key is
    used once to mint the dashboard's key (with `password` when the account has 2FA; used once,
    never kept). Store and Telegram failures raise and change nothing.
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
        _adopt_stored(instance=instance, actor=actor, loaded=loaded, action="session.verify", password=password)
    except (SessionRevoked, NotAuthorized) as dead:
        # telegram_operation has set the status; the object is remembered as what was checked.
        result = "expired" if isinstance(dead, SessionRevoked) and dead.reason == "expired" else "revoked"
        fields = object_remember(instance, loaded.info)
        instance.verified_at, instance.verify_result = now, result
        instance.save(update_fields=[*fields, "verified_at", "verify_result", "updated_at"])
        return result
    return "alive"
