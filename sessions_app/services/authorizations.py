"""The account's active sessions (account.getAuthorizations) and terminating them, on the dashboard's key."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User
from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.operations import Actor, telegram_operation
from sessions_app.telegram import account as telegram

# Telegram refuses to terminate other sessions from a key younger than this (FRESH_RESET_AUTHORISATION_FORBIDDEN).
FRESH_KEY_AGE = datetime.timedelta(hours=24)


class Whose(StrEnum):
    CONNECTOR = "connector"  # this instance's connector
    DASHBOARD = "dashboard"  # this dashboard's own key for this instance (the caller)
    INSTANCE = "instance"  # another instance's key (connector or dashboard)
    DEVICE = "device"  # anything else: a phone, a desktop app, another tool


@dataclass(frozen=True)
class AuthorizationRow:
    """One active session, with what it is to this dashboard."""

    item: telegram.Authorization
    whose: Whose
    instance_session: str = ""  # the other instance's SESSION when whose is INSTANCE
    instance_name: str = ""

    @property
    def terminable(self) -> bool:
        return self.whose in (Whose.DEVICE, Whose.INSTANCE)


@dataclass(frozen=True)
class AuthorizationsView:
    rows: list[AuthorizationRow]
    terminate_from: datetime.datetime | None  # when the 24-hour rule lets this dashboard terminate others

    def can_terminate_now(self, now: datetime.datetime) -> bool:
        return self.terminate_from is None or self.terminate_from <= now


def _other_instances(instance: ConnectorInstance) -> dict[int, ConnectorInstance]:
    """Authorization hash -> the other instance it belongs to (connector's or dashboard's)."""
    owners: dict[int, ConnectorInstance] = {}
    others = ConnectorInstance.objects.exclude(pk=instance.pk).only(
        "session", "name", "connector_authorization_hash", "dashboard_authorization_hash", "telegram_user_id"
    )
    for other in others.filter(telegram_user_id=instance.telegram_user_id):
        for value in (other.connector_authorization_hash, other.dashboard_authorization_hash):
            if value is not None:
                owners[value] = other
    return owners


def _row(
    instance: ConnectorInstance, item: telegram.Authorization, owners: dict[int, ConnectorInstance]
) -> AuthorizationRow:
    if item.current:
        return AuthorizationRow(item, Whose.DASHBOARD)
    if item.hash == instance.connector_authorization_hash:
        return AuthorizationRow(item, Whose.CONNECTOR)
    owner = owners.get(item.hash)
    if owner is not None:
        return AuthorizationRow(item, Whose.INSTANCE, instance_session=owner.session, instance_name=owner.name)
    return AuthorizationRow(item, Whose.DEVICE)


def authorizations_list(*, instance: ConnectorInstance, actor: Actor) -> AuthorizationsView:
    """Every active session of the account, as the dashboard's own key sees them, marked by whose they are."""
    with telegram_operation(instance=instance, actor=actor, action="authorization.list") as op:
        items = telegram.list_authorizations(session=op.session, api=op.api, label=op.label)
    owners = _other_instances(instance)
    rows = sorted(
        (_row(instance, item, owners) for item in items),
        key=lambda row: (
            list(Whose).index(row.whose),
            -(row.item.date_active.timestamp() if row.item.date_active else 0),
        ),
    )
    own = next((row.item for row in rows if row.whose is Whose.DASHBOARD), None)
    terminate_from = None
    if own is not None and own.date_created is not None:
        # Telegram's clock decides: its "now" is our own session's date_active (this very request).
        telegram_now = own.date_active or timezone.now()
        wait = own.date_created + FRESH_KEY_AGE - telegram_now
        terminate_from = timezone.now() + max(wait, datetime.timedelta(0))
    return AuthorizationsView(rows=rows, terminate_from=terminate_from)


def _protected_hashes(instance: ConnectorInstance) -> frozenset[int]:
    """This instance's two authorizations and every other instance's: never ended by "terminate others"."""
    protected = {instance.connector_authorization_hash, instance.dashboard_authorization_hash}
    protected.update(_other_instances(instance))
    return frozenset(value for value in protected if value is not None)


def authorization_terminate(*, instance: ConnectorInstance, actor: User, authorization_hash: int) -> None:
    """End one other session of the account (account.resetAuthorization from the dashboard's key)."""
    if authorization_hash == 0 or authorization_hash == instance.dashboard_authorization_hash:
        raise ActionRefused("That is the dashboard's own authorization; Revoke ends it together with the connector's.")
    if authorization_hash == instance.connector_authorization_hash:
        raise ActionRefused("That is this instance's connector. To end it, use Revoke on the instance page.")
    with telegram_operation(instance=instance, actor=actor, action="authorization.terminate") as op:
        telegram.terminate_authorization(
            session=op.session, api=op.api, label=op.label, authorization_hash=authorization_hash
        )
    audit_record(
        instance=instance, actor=actor, action="authorization.terminate", detail={"hash": str(authorization_hash)}
    )


def authorizations_terminate_others(*, instance: ConnectorInstance, actor: User) -> int:
    """End every session of the account but this instance's two and other instances' keys; returns how many."""
    if instance.connector_authorization_hash is None:
        raise ActionRefused(
            "The dashboard does not know which active session is this instance's connector, so ending all others "
            "could end it too. Use “Mint the dashboard's authorization” (it learns which one it is), then try again."
        )
    keep = _protected_hashes(instance)
    with telegram_operation(instance=instance, actor=actor, action="authorization.terminate_others") as op:
        ended = telegram.terminate_other_authorizations(session=op.session, api=op.api, label=op.label, keep=keep)
    audit_record(
        instance=instance,
        actor=actor,
        action="authorization.terminate_others",
        detail={"ended": ended, "kept": len(keep)},
    )
    return ended
