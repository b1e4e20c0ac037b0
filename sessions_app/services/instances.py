from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sessions_app.converters import reserved_session_refusal
from sessions_app.models import ConnectorInstance, InstanceStatus, Membership, Role
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.events import event_broadcast
from sessions_app.telegram.account import Account
from sessions_app.telegram.client import ApiCredentials, default_credentials


class InstanceExists(ActionRefused):
    field = "session"


class SessionNameReserved(ActionRefused):
    field = "session"


@transaction.atomic
def instance_create(
    *, actor: User, session: str, name: str, api_id: int | None = None, api_hash: str = ""
) -> ConnectorInstance:
    """A new instance owned by `actor`; InstanceExists when the SESSION is taken (also by a create a moment ago).

    SessionNameReserved for a word a route takes under /instances/ (`new`, `bulk`, ...).
    """
    if refusal := reserved_session_refusal(session):
        raise SessionNameReserved(refusal)
    instance = ConnectorInstance(session=session, name=name, api_id=api_id, api_hash=api_hash, created_by=actor)
    instance.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise InstanceExists(
            f"An instance with SESSION {session!r} already exists (perhaps created a moment ago). "
            "Open it from the list, or pick another namespace."
        ) from None
    Membership.objects.create(user=actor, instance=instance, role=Role.OWNER)
    audit_record(
        instance=instance,
        actor=actor,
        action="instance.create",
        detail={"name": name, "api_override": api_id is not None},
    )
    return instance


def instance_credentials(instance: ConnectorInstance) -> ApiCredentials:
    """The instance's own API id/hash when set, else the dashboard's."""
    if instance.api_id:
        return ApiCredentials(api_id=instance.api_id, api_hash=instance.api_hash)
    return default_credentials()


def instance_remember_account(instance: ConnectorInstance, account: Account) -> tuple[str, ...]:
    """Who the instance's session is logged in as; returns the fields to save."""
    instance.telegram_user_id = account.user_id
    instance.telegram_name = account.name[:300]
    instance.telegram_username = account.username[:64]
    return ("telegram_user_id", "telegram_name", "telegram_username")


def instance_set_status(
    *,
    instance: ConnectorInstance,
    status: str,
    actor: User | None,
    error: str = "",
    fields: tuple[str, ...] = (),
) -> ConnectorInstance:
    """The one place an instance's status changes: saved, audited, broadcast (DESIGN decision 4)."""
    previous = instance.status
    instance.status = status
    instance.last_error = error
    instance.save(update_fields=["status", "last_error", "updated_at", *fields])
    if previous != status:
        audit_record(instance=instance, actor=actor, action="instance.status", detail={"from": previous, "to": status})
    event_broadcast(
        session=instance.session,
        kind="status",
        data={"status": status, "label": InstanceStatus(status).label, "error": error},
    )
    return instance
