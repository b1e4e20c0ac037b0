"""The session object: save (conditional), verify, revoke, and resolving a write conflict.

The S3 object telegram/{SESSION}/session.txt is the product's main output: connectors load it at
start-up. Every write is conditional on the ETag we last saw, so a concurrent writer is never
overwritten silently; a store that is down never loses the session (it stays encrypted in the DB
with status "unsaved" until Save succeeds).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.instances import instance_credentials, instance_remember_account, instance_set_status
from sessions_app.services.lease import telegram_lease
from sessions_app.storage import LoadedSession, ObjectInfo, StoreConflict, StoreError, get_session_storage
from sessions_app.telegram import client as telegram
from sessions_app.telegram.errors import NotAuthorized, SessionRevoked, TelegramError

_OBJECT_FIELDS = ("object_etag", "object_size", "object_last_modified", "object_version_id", "object_encryption")


class NothingToSave(TelegramError):
    default_message = "This instance has no session to save yet. Log it in first."


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


def _remember_object(instance: ConnectorInstance, info: ObjectInfo | None) -> tuple[str, ...]:
    instance.session_object.name = info.key if info else ""
    instance.object_etag = info.etag if info else ""
    instance.object_size = info.size if info else None
    instance.object_last_modified = info.last_modified if info else None
    instance.object_version_id = info.version_id if info else ""
    instance.object_encryption = info.encryption if info else ""
    return ("session_object", *_OBJECT_FIELDS)


@transaction.atomic
def _adopt_stored(
    *,
    instance: ConnectorInstance,
    actor: AbstractBaseUser | None,
    loaded: LoadedSession,
    account: telegram.Account,
    action: str,
) -> None:
    """The stored object's session works (get_me succeeded): it becomes the instance's session."""
    instance.session_string = loaded.content
    fields = (*instance_remember_account(instance, account), *_remember_object(instance, loaded.info))
    instance.verified_at, instance.verify_result = timezone.now(), "alive"
    instance_set_status(
        instance=instance,
        status=InstanceStatus.ACTIVE,
        actor=actor,
        fields=(*fields, "session_string", "verified_at", "verify_result"),
    )
    audit_record(
        instance=instance,
        actor=actor,
        action=action,
        detail={
            "result": "alive",
            "etag": loaded.info.etag if loaded.info else "",
            "telegram_user_id": account.user_id,
        },
    )


def session_save(
    *, instance: ConnectorInstance, actor: AbstractBaseUser | None, overwrite_etag: str | None = None
) -> ObjectInfo:
    """Write the instance's session to the store, conditional on the last ETag we saw.

    StoreConflict when someone else wrote the object (the caller offers the explicit choice);
    StoreError when the store fails, after marking the instance "unsaved" (the DB copy stays).
    `overwrite_etag` is the user's explicit "overwrite it" choice after a conflict.
    """
    if not instance.session_string:
        raise NothingToSave()
    store = get_session_storage()
    expected = overwrite_etag or instance.object_etag or None
    try:
        try:
            info = store.save(instance.session, instance.session_string, expected_etag=expected)
        except StoreConflict as conflict:
            current = conflict.current
            if overwrite_etag is None and current is not None and current.size == 0:
                # An empty object is the connector's "not logged in" (or a revoke): no session to lose.
                info = store.save(instance.session, instance.session_string, expected_etag=current.etag)
                audit_record(instance=instance, actor=actor, action="session.save", detail={"replaced": "empty object"})
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
    fields = _remember_object(instance, info)
    instance.saved_at = timezone.now()
    instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=actor, fields=(*fields, "saved_at"))
    audit_record(
        instance=instance,
        actor=actor,
        action="session.overwrite" if overwrite_etag else "session.save",
        detail={"etag": info.etag, "version_id": info.version_id, "size": info.size},
    )
    return info


def session_save_after_login(*, instance: ConnectorInstance, actor: AbstractBaseUser | None) -> str:
    """Persist right after sign-in, as the connector does; a failure leaves the instance "unsaved"."""
    try:
        session_save(instance=instance, actor=actor)
    except StoreError as error:
        return error.message
    return ""


def session_use_stored(*, instance: ConnectorInstance, actor: AbstractBaseUser | None) -> ConnectorInstance:
    """The explicit "use the stored one" choice: adopt the object's session after checking it works."""
    store = get_session_storage()
    loaded = store.load(instance.session)
    if loaded.is_fresh:
        # Nothing to adopt: the stored object is empty, so ours can be written over it.
        session_save(instance=instance, actor=actor)
        return instance
    with telegram_lease(session=instance.session, purpose="use_stored"):
        account = telegram.get_me(session=loaded.content, api=instance_credentials(instance))
    _adopt_stored(instance=instance, actor=actor, loaded=loaded, account=account, action="session.use_stored")
    return instance


def session_verify(*, instance: ConnectorInstance, actor: AbstractBaseUser | None) -> str:
    """Load the object, connect, get_me. Returns "alive", "fresh", "expired" or "revoked".

    An object written by a connector or generate_session becomes this instance's session here.
    Store and Telegram failures raise (StoreError / TelegramError) and change nothing.
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
        fields = _remember_object(instance, loaded.info)
        instance.verified_at, instance.verify_result = now, "fresh"
        status = InstanceStatus.UNSAVED if instance.session_string else InstanceStatus.NEW
        if instance.status in (InstanceStatus.REVOKED, InstanceStatus.EXPIRED) and not instance.session_string:
            status = instance.status
        instance_set_status(
            instance=instance, status=status, actor=actor, fields=(*fields, "verified_at", "verify_result")
        )
        audit_record(instance=instance, actor=actor, action="session.verify", detail={"result": "fresh"})
        return "fresh"
    try:
        with telegram_lease(session=instance.session, purpose="verify"):
            account = telegram.get_me(session=loaded.content, api=instance_credentials(instance))
    except (SessionRevoked, NotAuthorized) as dead:
        result = "expired" if getattr(dead, "reason", "") == "expired" else "revoked"
        fields = _remember_object(instance, loaded.info)
        instance.verified_at, instance.verify_result = now, result
        status = InstanceStatus.EXPIRED if result == "expired" else InstanceStatus.REVOKED
        instance_set_status(
            instance=instance,
            status=status,
            actor=actor,
            error=dead.message,
            fields=(*fields, "verified_at", "verify_result"),
        )
        audit_record(instance=instance, actor=actor, action="session.verify", detail={"result": result})
        return result
    except TelegramError as error:
        audit_record(
            instance=instance,
            actor=actor,
            action="session.verify",
            outcome="failed",
            detail={"error": type(error).__name__},
        )
        raise
    _adopt_stored(instance=instance, actor=actor, loaded=loaded, account=account, action="session.verify")
    return "alive"


def session_revoke(*, instance: ConnectorInstance, actor: AbstractBaseUser | None) -> RevokeOutcome:
    """auth.logOut with the stored session, then an empty object, then forget the DB copy.

    Idempotent: a retry after a half-done revoke skips the half that already happened.
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
    logged_out = False
    if string:
        try:
            with telegram_lease(session=instance.session, purpose="revoke"):
                # log_out() drops client.session, so the string was read above, before the call.
                telegram.log_out(session=string, api=instance_credentials(instance))
        except TelegramError as error:
            audit_record(
                instance=instance,
                actor=actor,
                action="session.revoke",
                outcome="failed",
                detail={"half": "telegram", "error": type(error).__name__},
            )
            raise RevokeIncomplete(
                f"Nothing was revoked: Telegram did not confirm the logout ({error.message}). The session still works; retry Revoke.",
                RevokeOutcome(False, False),
            ) from None
        logged_out = True
        with transaction.atomic():
            instance.session_string = ""
            instance_set_status(
                instance=instance, status=InstanceStatus.REVOKED, actor=actor, fields=("session_string",)
            )
            audit_record(instance=instance, actor=actor, action="session.logout")
    try:
        expected = instance.object_etag or (stored_info.etag if stored_info else None)
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
        fields = _remember_object(instance, cleared)
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
    return RevokeOutcome(logged_out, True)
