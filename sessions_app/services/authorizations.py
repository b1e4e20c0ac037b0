"""The account's active sessions (account.getAuthorizations) and terminating them, on the dashboard's key."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.models_watch import AccountWatch, AuthorizationOrigin, WatchedAuthorization
from sessions_app.selectors.authorizations import (
    authorization_owners,
    authorization_words,
    authorizations_watched,
    instances_visible,
)
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.health.probe import connector_fingerprint
from sessions_app.services.operations import Actor, telegram_operation
from sessions_app.telegram import account as telegram

# Telegram refuses to terminate other sessions from a key younger than this (FRESH_RESET_AUTHORISATION_FORBIDDEN).
FRESH_KEY_AGE = datetime.timedelta(hours=24)


class Whose(StrEnum):
    CONNECTOR = "connector"  # this instance's connector
    DASHBOARD = "dashboard"  # this dashboard's own key for this instance (the caller)
    INSTANCE = "instance"  # another instance's key (connector or dashboard)
    DEVICE = "device"  # anything else: a phone, a desktop app, another tool


class Watched(StrEnum):
    """What the security watch makes of another device's authorization."""

    KNOWN = "known"  # marked as known by someone on the team
    BASELINE = "baseline"  # there when the watch began (or after the last login): never alerted
    NEW = "new"  # appeared since: alerted once (or alerted at the next check)


@dataclass(frozen=True)
class AuthorizationRow:
    """One active session, with what it is to this dashboard."""

    item: telegram.Authorization
    whose: Whose
    instance_session: str = ""  # the other instance's SESSION when whose is INSTANCE and the user may see it
    instance_name: str = ""
    watched: Watched | None = None  # for DEVICE rows
    known_by: str = ""  # who marked it as known ("" for a user since deleted)
    known_at: datetime.datetime | None = None
    seen_at: datetime.datetime | None = None  # when a check first saw it

    @property
    def terminable(self) -> bool:
        return self.whose in (Whose.DEVICE, Whose.INSTANCE)

    @property
    def markable(self) -> bool:
        return self.whose is Whose.DEVICE and self.watched is not Watched.KNOWN


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


@dataclass(frozen=True)
class _Marks:
    """What the page needs besides the list: other instances' keys, the watch's records, the current baseline."""

    owners: dict[int, ConnectorInstance]
    visible: set[int]
    watched: dict[int, WatchedAuthorization]
    baselined: bool  # the watch has a baseline for the current connector key: an unseen authorization is new


def _marks(instance: ConnectorInstance, actor: Actor, items: list[telegram.Authorization]) -> _Marks:
    owners = authorization_owners(instance=instance, hashes=[item.hash for item in items])
    watch = AccountWatch.objects.filter(instance=instance).first()
    key = connector_fingerprint(instance)
    return _Marks(
        owners=owners,
        visible=instances_visible(user=actor, instances=owners.values()),
        watched=authorizations_watched(instance=instance),
        baselined=watch is not None and bool(key) and watch.connector_key_fingerprint == key,
    )


def _device_row(item: telegram.Authorization, marks: _Marks) -> AuthorizationRow:
    record = marks.watched.get(item.hash)
    if record is None:
        watched = Watched.NEW if marks.baselined else Watched.BASELINE
        return AuthorizationRow(item, Whose.DEVICE, watched=watched)
    if record.known_at is not None:
        who = record.known_by.username if record.known_by is not None else "a former team member"
        watched = Watched.KNOWN
    else:
        who, watched = "", Watched.NEW if record.origin == AuthorizationOrigin.NEW else Watched.BASELINE
    return AuthorizationRow(
        item, Whose.DEVICE, watched=watched, known_by=who, known_at=record.known_at, seen_at=record.first_seen_at
    )


def _row(instance: ConnectorInstance, item: telegram.Authorization, marks: _Marks) -> AuthorizationRow:
    if item.current:
        return AuthorizationRow(item, Whose.DASHBOARD)
    if item.hash == instance.connector_authorization_hash:
        return AuthorizationRow(item, Whose.CONNECTOR)
    owner = marks.owners.get(item.hash)
    if owner is not None:
        if owner.pk not in marks.visible:
            return AuthorizationRow(item, Whose.INSTANCE)
        return AuthorizationRow(item, Whose.INSTANCE, instance_session=owner.session, instance_name=owner.name)
    if item.hash == instance.dashboard_authorization_hash:  # an old key of this dashboard, not logged out yet
        return AuthorizationRow(item, Whose.DASHBOARD)
    return _device_row(item, marks)


def authorizations_list(*, instance: ConnectorInstance, actor: Actor) -> AuthorizationsView:
    """Every active session of the account, as the dashboard's own key sees them, marked by whose they are."""
    with telegram_operation(instance=instance, actor=actor, action="authorization.list") as op:
        items = telegram.list_authorizations(session=op.session, api=op.api, label=op.label)
    marks = _marks(instance, actor, items)
    rows = sorted(
        (_row(instance, item, marks) for item in items),
        key=lambda row: (
            list(Whose).index(row.whose),
            -(row.item.date_active.timestamp() if row.item.date_active else 0),
        ),
    )
    own = next((row.item for row in rows if row.whose is Whose.DASHBOARD and row.item.current), None)
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


def authorization_mark_known(
    *, instance: ConnectorInstance, actor: User, authorization_hash: int
) -> WatchedAuthorization:
    """Mark another device's session as known to the team: the watch never alerts it (audited)."""
    if authorization_hash in (0, instance.dashboard_authorization_hash, instance.connector_authorization_hash):
        raise ActionRefused("That is one of this instance's own two authorizations: there is nothing to mark.")
    with telegram_operation(instance=instance, actor=actor, action="authorization.known") as op:
        items = telegram.list_authorizations(session=op.session, api=op.api, label=op.label)
    item = next((item for item in items if item.hash == authorization_hash and not item.current), None)
    if item is None:
        raise ActionRefused("That session is no longer among the account's active sessions: nothing was marked.")
    if authorization_owners(instance=instance, hashes=[authorization_hash]):
        raise ActionRefused(
            "That is another instance's authorization: it is never alerted, so there is nothing to mark."
        )
    device, app, where = authorization_words(item)
    now = timezone.now()
    with transaction.atomic():
        record, _ = WatchedAuthorization.objects.select_for_update().get_or_create(
            instance=instance,
            authorization_hash=authorization_hash,
            defaults={
                "origin": AuthorizationOrigin.MARKED,
                "first_seen_at": now,
                "description": f"{device}, {app}, {where}"[:300],
            },
        )
        record.known_by, record.known_at = actor, now
        record.save(update_fields=["known_by", "known_at"])
        audit_record(
            instance=instance,
            actor=actor,
            action="authorization.known",
            detail={"hash": str(authorization_hash), "device": device, "app": app, "where": where},
        )
    return record
