"""The one way every Telegram operation on an instance runs (DESIGN decision 2).

``telegram_operation`` is a context manager that

- chooses the key: the dashboard's own (the default), the connector's (minting and revoking
  only), or a key the caller names (a pending login's, an import candidate's);
- holds the instance's lease, so one connection at a time uses it across processes;
- translates and audits what went wrong (a refusal before Telegram, a flood wait, Telegram's
  refusal, a failure on the way), with the action's name and no secret;
- applies the dead-session rule: when Telegram says the instance's connector key no longer works
  the instance becomes "revoked" (or "expired"); when the dashboard's own key dies, the dashboard
  forgets it and says so, and the connector is not touched.

Services call Telegram only inside it and write their own success audit; nothing else opens a
lease or writes these failure rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth.models import User

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.selectors.proxy import instance_own_proxy
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, NoDashboardKey, NoSession
from sessions_app.services.instances import instance_credentials, instance_set_status
from sessions_app.services.lease import telegram_lease
from sessions_app.telegram.client import ApiCredentials, ClientLabel, KeyRole
from sessions_app.telegram.errors import (
    ALL_SESSIONS_TERMINATED,
    AccountBanned,
    AccountFrozen,
    FloodWait,
    NotAuthorized,
    SessionRevoked,
    TelegramError,
)

Actor = User | None


@dataclass(frozen=True)
class Operation:
    """What an operation inside ``telegram_operation`` works with."""

    session: str  # the chosen key's session string: pass it to one telegram.* call, never keep it
    api: ApiCredentials
    label: ClientLabel
    role: KeyRole
    holder: str  # the lease holder id (long runs renew and hand over with it)


class DashboardKeyLost(TelegramError):
    default_message = (
        "The dashboard's own authorization of this account no longer works (it was terminated or logged out). "
        "The connector's session is not affected. Use “Mint the dashboard's authorization” to make a new one."
    )


class AllSessionsTerminated(DashboardKeyLost):
    """SESSION_REVOKED on the dashboard's key: the owner ended every session, the connector's too."""

    default_message = ALL_SESSIONS_TERMINATED


KeyChoice = str | Callable[[ConnectorInstance], str] | None


def _chosen_key(instance: ConnectorInstance, role: KeyRole, session: KeyChoice) -> str:
    if callable(session):
        return session(instance)
    if session is not None:
        return session
    if role is KeyRole.DASHBOARD:
        if not instance.dashboard_session:
            if not instance.session_string:
                raise NoSession()
            raise NoDashboardKey()
        return instance.dashboard_session
    if not instance.session_string:
        raise NoSession()
    return instance.session_string


def _mark_audited(error: Exception) -> bool:
    """True when an inner operation already audited (and applied the rules to) this exception."""
    seen = bool(getattr(error, "_teleconnect_audited", False))
    error._teleconnect_audited = True  # type: ignore[attr-defined]
    return seen


def _outcome(error: TelegramError) -> tuple[str, dict[str, object]]:
    if isinstance(error, FloodWait):
        return "flood_wait", {"seconds": error.seconds}
    if isinstance(error, (SessionRevoked, NotAuthorized)):
        return "dead", {"error": type(error).__name__, "reason": getattr(error, "reason", "revoked")}
    # The account's own state, not a key's: both keys are kept (they work again once Telegram lifts it).
    if isinstance(error, AccountBanned):
        return "banned", {"error": type(error).__name__, "deleted": error.deleted}
    if isinstance(error, AccountFrozen):
        return "frozen", {"error": type(error).__name__, "appeal_url": error.appeal_url}
    return "refused", {"error": type(error).__name__}


def terminated_all(error: TelegramError) -> bool:
    return isinstance(error, SessionRevoked) and error.reason == "terminated_all"


def instance_mark_dead(
    *, instance: ConnectorInstance, actor: Actor, error: SessionRevoked | NotAuthorized
) -> ConnectorInstance:
    """The dead-session rule: the connector's key no longer works, so the instance is revoked or expired."""
    expired = isinstance(error, SessionRevoked) and error.reason == "expired"
    status = InstanceStatus.EXPIRED if expired else InstanceStatus.REVOKED
    return instance_set_status(instance=instance, status=status, actor=actor, error=error.message)


def dashboard_key_forget(*, instance: ConnectorInstance, actor: Actor, reason: str) -> None:
    """The dashboard's key died: forget it (the connector's is untouched) and say how to get a new one."""
    instance.dashboard_session = ""
    instance.dashboard_key_fingerprint = None
    instance.dashboard_authorization_hash = None
    instance.dashboard_key_error = DashboardKeyLost.default_message
    instance.save(
        update_fields=[
            "dashboard_session",
            "dashboard_key_fingerprint",
            "dashboard_authorization_hash",
            "dashboard_key_error",
            "updated_at",
        ]
    )
    audit_record(instance=instance, actor=actor, action="dashboard_key.lost", detail={"reason": reason})


@contextmanager
def telegram_operation(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    action: str,
    role: KeyRole = KeyRole.DASHBOARD,
    session: KeyChoice = None,
    marks_dead: bool = True,
    holder: str = "",
    lease_wait: float | None = None,
) -> Iterator[Operation]:
    """Run the block as `action` on the instance with the chosen key (see the module docstring).

    Every state change of an instance runs here: the lease is taken first, then the instance is
    re-read, so the block sees what the operation before it left (a double submit finds the
    first one's result). `session` names the key explicitly, or as a function of the re-read
    instance (a pending login's key, an import candidate's; then `marks_dead` says whether its
    death is the instance's); without it `role` picks the instance's own key of that role. The
    block's TelegramError and ActionRefused leave unchanged after being audited once (an
    operation nested in another on the same instance shares its lease and its audit).
    """
    try:
        with telegram_lease(session=instance.session, purpose=action, holder=holder, wait=lease_wait) as held:
            if instance.pk is not None:
                instance.refresh_from_db()
            key = _chosen_key(instance, role, session)
            yield Operation(
                session=key,
                api=instance_credentials(instance),
                label=ClientLabel(role, instance.session, instance_own_proxy(instance)),
                role=role,
                holder=held,
            )
    except ActionRefused as refusal:
        if not _mark_audited(refusal):
            audit_record(
                instance=instance,
                actor=actor,
                action=action,
                outcome="refused",
                detail={"refusal": type(refusal).__name__},
            )
        raise
    except TelegramError as error:
        if _mark_audited(error):
            raise
        outcome, detail = _outcome(error)
        audit_record(instance=instance, actor=actor, action=action, outcome=outcome, detail=detail)
        if isinstance(error, (SessionRevoked, NotAuthorized)):
            if role is KeyRole.DASHBOARD and session is None:
                dashboard_key_forget(instance=instance, actor=actor, reason=type(error).__name__)
                lost = DashboardKeyLost()
                if terminated_all(error):
                    # Not only the dashboard's key: the owner ended every session of the account.
                    lost = AllSessionsTerminated()
                    if instance.session_string:
                        instance_mark_dead(instance=instance, actor=actor, error=error)
                _mark_audited(lost)
                raise lost from error
            if marks_dead:
                instance_mark_dead(instance=instance, actor=actor, error=error)
        raise
