"""What one health check looks at: the store object and, through the dashboard's key, the connector.

Neither look ever connects with the connector's key: Telegram destroys a key used from two
places at once, and the connector holds its key all the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.models_health import InstanceHealth
from sessions_app.services.connector import CONNECTOR_NOT_LISTED, connector_sighting
from sessions_app.services.errors import ActionRefused, InstanceBusy, NoDashboardKey, NoSession
from sessions_app.services.keys import key_fingerprint
from sessions_app.services.operations import Actor, AllSessionsTerminated, DashboardKeyLost
from sessions_app.storage import ObjectInfo, StoreError, get_session_storage
from sessions_app.storage.base import same_etag
from sessions_app.telegram.account import AccountView
from sessions_app.telegram.errors import AccountBanned, AccountFrozen, SessionMalformed, TelegramError

# Stands for content that is not a session string: equal to no key's fingerprint.
_NOT_A_SESSION = "not-a-session"


class ObjectFinding(StrEnum):
    UNCHANGED = "unchanged"  # holds the connector's key, as the dashboard last saw it
    REWRITTEN = "rewritten"  # new ETag, same key: the connector's own save (on shutdown, say)
    AS_KNOWN = "as_known"  # as the dashboard last saw it, without the current key (not saved yet, revoked)
    APPEARED = "appeared"  # a key where the instance has none: Verify adopts it
    REPLACED = "replaced"  # another key, written outside the dashboard
    EMPTIED = "emptied"  # emptied outside the dashboard: a connector starting now is not logged in
    REMOVED = "removed"  # deleted outside the dashboard: the same for a connector
    UNREACHABLE = "unreachable"

    @property
    def changed_outside(self) -> bool:
        return self in (ObjectFinding.REPLACED, ObjectFinding.EMPTIED, ObjectFinding.REMOVED)


class ConnectorFinding(StrEnum):
    LISTED = "listed"  # the connector's authorization is among the account's sessions
    ALIVE = "alive"  # the dashboard's key works; which authorization is the connector's is not known
    GONE = "gone"  # no longer listed: terminated, logged out or expired
    NO_KEY = "no_key"  # no connector key to look for (not logged in)
    DASHBOARD_KEY_LOST = "dashboard_key_lost"
    NOT_MINTED = "not_minted"  # the dashboard never had a key of its own for this login: nothing was lost
    BANNED = "banned"  # Telegram banned or deleted the account (its keys are kept)
    FROZEN = "frozen"  # Telegram froze the account (its keys are kept)
    BUSY = "busy"  # another operation kept the instance's connection
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class ObjectLook:
    finding: ObjectFinding
    info: ObjectInfo | None = None  # the object as read
    fingerprint: str = ""  # of the key in it ("" for an empty or missing object)
    message: str = ""


@dataclass(frozen=True)
class ConnectorLook:
    finding: ConnectorFinding
    active_at: datetime | None = None
    message: str = ""
    view: AccountView | None = None  # the account as the dashboard's key saw it (for the security watch)


NOT_MINTED = (
    "Logged in, but the dashboard has no authorization of its own for this account yet, so the checks watch the "
    "session object only. “Mint the dashboard's authorization” lets them watch the connector and the account too."
)


def _content_fingerprint(content: str) -> str:
    if not content:
        return ""
    try:
        return key_fingerprint(content)
    except SessionMalformed:
        return _NOT_A_SESSION


def connector_fingerprint(instance: ConnectorInstance) -> str:
    """The fingerprint of the instance's connector key ("" without one)."""
    if instance.connector_key_fingerprint:
        return instance.connector_key_fingerprint
    if not instance.session_string:
        return ""
    return _content_fingerprint(instance.session_string)


def object_look(*, instance: ConnectorInstance, health: InstanceHealth) -> ObjectLook:
    """The store object: a HEAD, and a GET only when its ETag is not the one the checks last read."""
    store = get_session_storage()
    try:
        info = store.head(instance.session)
        fingerprint = ""
        if info is not None:
            if health.object_etag and same_etag(info.etag, health.object_etag):
                fingerprint = health.object_key_fingerprint
            else:
                loaded = store.load(instance.session)
                info, fingerprint = loaded.info, _content_fingerprint(loaded.content)
    except StoreError as error:
        return ObjectLook(ObjectFinding.UNREACHABLE, message=f"The session store could not be read: {error.message}")
    ours = connector_fingerprint(instance)
    if info is None:
        known = not instance.object_etag
    else:
        known = bool(instance.object_etag) and same_etag(info.etag, instance.object_etag)
    if ours and fingerprint == ours:
        finding = ObjectFinding.UNCHANGED if known else ObjectFinding.REWRITTEN
    elif known:
        finding = ObjectFinding.AS_KNOWN
    elif not instance.session_string:
        finding = ObjectFinding.APPEARED if fingerprint else ObjectFinding.AS_KNOWN
    elif info is None:
        finding = ObjectFinding.REMOVED
    elif not fingerprint:
        finding = ObjectFinding.EMPTIED
    else:
        finding = ObjectFinding.REPLACED
    return ObjectLook(finding, info=info, fingerprint=fingerprint)


def connector_look(*, instance: ConnectorInstance, actor: Actor, lease_wait: float | None = None) -> ConnectorLook:
    """Is the connector's authorization still listed, and when was it last active? Asked with the dashboard's key."""
    if not instance.session_string:
        return ConnectorLook(ConnectorFinding.NO_KEY)
    if not instance.dashboard_session:
        if instance.status in (InstanceStatus.REVOKED, InstanceStatus.EXPIRED):
            # Found dead already (all sessions terminated, say): the dashboard's key went with it.
            return ConnectorLook(ConnectorFinding.GONE, message=instance.last_error or CONNECTOR_NOT_LISTED)
        if instance.dashboard_minted_at is None:
            # Never minted (a login whose mint failed, an object only watched): no key was lost, nothing to alert.
            return ConnectorLook(ConnectorFinding.NOT_MINTED, message=NOT_MINTED)
        return ConnectorLook(
            ConnectorFinding.DASHBOARD_KEY_LOST, message=instance.dashboard_key_error or NoDashboardKey.default_message
        )
    try:
        # A running archive answers for the check over its own connection: checks never interrupt runs.
        sighting = connector_sighting(
            instance=instance, actor=actor, action="health.check", lease_wait=lease_wait, served=True
        )
    except AllSessionsTerminated as ended:
        return ConnectorLook(ConnectorFinding.GONE, message=ended.message)
    except DashboardKeyLost as lost:
        return ConnectorLook(ConnectorFinding.DASHBOARD_KEY_LOST, message=lost.message)
    except AccountBanned as banned:
        return ConnectorLook(ConnectorFinding.BANNED, message=banned.message)
    except AccountFrozen as frozen:
        return ConnectorLook(ConnectorFinding.FROZEN, message=frozen.message)
    except NoDashboardKey as refusal:
        return ConnectorLook(ConnectorFinding.DASHBOARD_KEY_LOST, message=refusal.message)
    except NoSession:
        return ConnectorLook(ConnectorFinding.NO_KEY)
    except InstanceBusy as busy:
        return ConnectorLook(ConnectorFinding.BUSY, message=busy.message)
    except ActionRefused as refusal:
        return ConnectorLook(ConnectorFinding.BUSY, message=refusal.message)
    except TelegramError as error:
        return ConnectorLook(ConnectorFinding.UNREACHABLE, message=error.message)
    if not sighting.alive:
        return ConnectorLook(ConnectorFinding.GONE, message=CONNECTOR_NOT_LISTED)
    view = sighting.view
    active_at = sighting.listed.date_active if sighting.listed is not None else None
    if view.freeze is not None:
        # Telegram's app config says so even where the reads still work: the account can barely act.
        said = AccountFrozen(appeal_url=view.freeze.appeal_url, until=view.freeze.until).message
        return ConnectorLook(ConnectorFinding.FROZEN, active_at=active_at, message=said, view=view)
    finding = ConnectorFinding.LISTED if sighting.listed is not None else ConnectorFinding.ALIVE
    return ConnectorLook(finding, active_at=active_at, view=view)
