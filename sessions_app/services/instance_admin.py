"""Renaming and deleting an instance (owners).

Delete never leaves a live authorization behind without the person choosing it: while the
session object (or this dashboard) still holds the connector's session, it is refused unless
they choose to revoke first (services.revoke.session_revoke ends both authorizations and
empties the object; if it fails nothing is deleted) or to keep the object (left untouched in the
store). Either way the dashboard's own authorization is ours alone and is logged out first.

The audit trail outlives the instance: AuditEvent references it without a constraint and with
DO_NOTHING (its rows are append-only), and keeps the SESSION string.
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction

from sessions_app.models import ArchiveStatus, ConnectorInstance
from sessions_app.selectors.instances import Holder, StoredSession, stored_session
from sessions_app.services.archive_runs import archive_mark_stale_runs
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.keys import key_retire
from sessions_app.services.operations import telegram_operation
from sessions_app.services.revoke import RevokeIncomplete, session_revoke

NAME_MAX_LENGTH: int = ConnectorInstance._meta.get_field("name").max_length or 200


class NameInvalid(ActionRefused):
    field = "name"


class DeleteRefused(ActionRefused):
    """Nothing was deleted; `message` says why and what to choose or do."""


class ConfirmationMismatch(DeleteRefused):
    field = "confirm"


class InstanceGone(ActionRefused):
    default_message = "This instance was deleted a moment ago (by someone else, or by an earlier click)."


class ObjectChoice(StrEnum):
    """What the person chose for a session object that still holds a session."""

    NONE = ""  # delete only when nothing holds a session
    REVOKE = "revoke"  # revoke first (both authorizations end, the object is emptied)
    KEEP = "keep"  # leave the object untouched in the store


@transaction.atomic
def instance_rename(*, instance: ConnectorInstance, actor: User, name: str) -> ConnectorInstance:
    """Change the display name; NameInvalid (nothing changes) when it is blank or too long.

    InstanceGone when someone deleted the instance since the page was loaded.
    """
    name = name.strip()
    if not name:
        raise NameInvalid("Give the instance a display name (it cannot be blank). The name was not changed.")
    if len(name) > NAME_MAX_LENGTH:
        raise NameInvalid(
            f"A display name has at most {NAME_MAX_LENGTH} characters (this one has {len(name)}). "
            "The name was not changed."
        )
    # Locked, so a delete waits for the rename (and the rename never saves a row that is gone).
    if not ConnectorInstance.objects.select_for_update().filter(pk=instance.pk).exists():
        raise InstanceGone()
    previous = instance.name
    if name == previous:
        return instance
    instance.name = name
    instance.save(update_fields=["name", "updated_at"])
    audit_record(instance=instance, actor=actor, action="instance.rename", detail={"from": previous, "to": name})
    return instance


def _live_refusal(instance: ConnectorInstance, stored: StoredSession) -> DeleteRefused:
    choose = (
        "Choose “Revoke first” (Telegram ends the connector's and the dashboard's authorizations and the object "
        "is emptied) or “Keep the object” (the instance leaves the dashboard; the object stays as it is)."
    )
    if stored.holder is Holder.UNKNOWN:
        return DeleteRefused(
            f"Not deleted: the session object could not be read ({stored.error}), so it is not known whether it "
            "still holds a session. Retry when the store answers, or choose “Keep the object” to delete the "
            "instance without touching the store."
        )
    if stored.holder is Holder.OBJECT:
        return DeleteRefused(
            f"Not deleted: {instance.object_key} still holds a session (a connector loading it logs in). {choose}"
        )
    return DeleteRefused(
        "Not deleted: the dashboard still keeps this instance's connector session (logged in on Telegram, "
        f"not saved to the object). {choose}"
    )


def _revoke_first(*, instance: ConnectorInstance, actor: User) -> None:
    try:
        session_revoke(instance=instance, actor=actor)
    except RevokeIncomplete as incomplete:
        raise DeleteRefused(f"Not deleted: {incomplete.message}") from None
    except ActionRefused as refusal:
        raise DeleteRefused(f"Not deleted: the revoke did not run ({refusal.message})") from None


def _log_out_dashboard_key(*, instance: ConnectorInstance, actor: User, revoked: bool) -> None:
    """The dashboard's own authorization dies with the instance: nobody else holds its key."""
    if instance.dashboard_session and not key_retire(instance=instance, actor=actor, old=instance.dashboard_session):
        done = "The session was revoked, but the instance was not deleted" if revoked else "Not deleted"
        raise DeleteRefused(
            f"{done}: Telegram did not confirm logging out the dashboard's own authorization of this account "
            "(the instance's audit trail says why). Retry in a moment."
        )


def instance_delete(
    *, instance: ConnectorInstance, actor: User, confirm: str, choice: ObjectChoice = ObjectChoice.NONE
) -> str:
    """Delete the instance with its archive, checks and members; returns what happened to the object.

    `confirm` must be the SESSION typed exactly. Refused (DeleteRefused, nothing deleted) while an
    archive run is active or a session is still held and no choice was made; InstanceGone when
    someone else deleted it first. Runs under the instance's Telegram lease, so it never overlaps
    another operation on it (and a refusal is audited as "instance.delete").
    """
    if confirm != instance.session:
        raise ConfirmationMismatch(
            f"Not deleted: type the SESSION exactly as shown ({instance.session}) to confirm. "
            f"{'You typed ' + repr(confirm[:70]) + '.' if confirm else 'The field was empty.'}"
        )
    try:
        with telegram_operation(instance=instance, actor=actor, action="instance.delete", session=""):
            return _delete_under_lease(instance=instance, actor=actor, choice=choice)
    except ConnectorInstance.DoesNotExist:
        raise InstanceGone() from None


def _refuse_while_archiving(instance: ConnectorInstance) -> None:
    if instance.archive_runs.filter(status__in=ArchiveStatus.active()).exists():
        raise DeleteRefused(
            "Not deleted: an archive run of this instance is queued or running. Wait for it to finish (its "
            "progress shows on the archive page), then delete."
        )


def _delete_under_lease(*, instance: ConnectorInstance, actor: User, choice: ObjectChoice) -> str:
    archive_mark_stale_runs(instance=instance)
    _refuse_while_archiving(instance)
    if choice is ObjectChoice.KEEP:
        outcome = "kept"
    else:
        stored = stored_session(instance)
        if stored.holder is Holder.UNKNOWN or (stored.live and choice is not ObjectChoice.REVOKE):
            raise _live_refusal(instance, stored)
        if stored.live:
            _revoke_first(instance=instance, actor=actor)
            instance.refresh_from_db()
            outcome = "revoked"
        else:
            outcome = "missing" if stored.object_size is None else "empty"
    _log_out_dashboard_key(instance=instance, actor=actor, revoked=outcome == "revoked")
    with transaction.atomic():
        if not ConnectorInstance.objects.select_for_update().filter(pk=instance.pk).exists():
            raise InstanceGone()
        # Starting a run takes this row lock too (services.archive_runs): one queued since the
        # check above would otherwise vanish with the instance, its start audited but never run.
        _refuse_while_archiving(instance)
        audit_record(
            instance=instance,
            actor=actor,
            action="instance.delete",
            detail={"object": outcome, "name": instance.name},
        )
        instance.delete()
    return outcome
