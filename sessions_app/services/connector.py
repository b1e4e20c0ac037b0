"""The connector's authorization as the dashboard's own key sees it: one rule for Verify and the health checks."""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sessions_app.models import ConnectorInstance
from sessions_app.services.lease import lease_ask, lease_request_answer, lease_requests_waiting, lease_serving
from sessions_app.services.operations import Actor, telegram_operation
from sessions_app.telegram.account import (
    AccountFreeze,
    AccountSecurity,
    AccountView,
    Authorization,
    account_view,
)
from sessions_app.telegram.errors import AccountBanned, AccountFrozen, TelegramError, TelegramUnreachable

logger = logging.getLogger(__name__)

# What a check asks a running archive for: the account's authorizations and its 2FA state, in one round trip.
ACCOUNT_VIEW = "account.view"
# How long a check waits for a running archive to answer (it does between two chunks, about a second).
SERVED_WAIT_SECONDS = 30.0

CONNECTOR_NOT_LISTED = (
    "The connector's authorization is no longer among the account's active sessions "
    "(logged out, terminated from another device, or expired). Log in again."
)


@dataclass(frozen=True)
class ConnectorSighting:
    """The connector's authorization in account.getAuthorizations, as the dashboard's key lists them."""

    alive: bool  # listed, or not known which one it is (instances whose connector hash was never learnt)
    listed: Authorization | None
    view: AccountView  # the whole look at the account (its authorizations, 2FA, freeze): the security watch's


def _connector_listed(instance: ConnectorInstance, authorizations: list[Authorization]) -> Authorization | None:
    """The connector's authorization among the dashboard's view of the account's sessions."""
    for item in authorizations:
        if item.hash == instance.connector_authorization_hash and not item.current:
            return item
    return None


_DATES = ("date_created", "date_active", "since", "until")


def _dates_out(data: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (value.isoformat() if name in _DATES and value is not None else value) for name, value in data.items()
    }


def _dates_in(data: dict[str, Any]) -> dict[str, Any]:
    return {
        name: (datetime.datetime.fromisoformat(value) if name in _DATES and value else value)
        for name, value in data.items()
    }


def _view_as_json(view: AccountView) -> dict[str, Any]:
    return {
        "authorizations": [_dates_out(dataclasses.asdict(item)) for item in view.authorizations],
        "security": dataclasses.asdict(view.security) if view.security is not None else None,
        "freeze": _dates_out(dataclasses.asdict(view.freeze)) if view.freeze is not None else None,
    }


def _view_from_json(data: dict[str, Any]) -> AccountView:
    security, freeze = data.get("security"), data.get("freeze")
    return AccountView(
        authorizations=[Authorization(**_dates_in(item)) for item in data.get("authorizations", [])],
        security=AccountSecurity(**security) if security is not None else None,
        freeze=AccountFreeze(**_dates_in(freeze)) if freeze is not None else None,
    )


def _error_as_json(error: TelegramError) -> dict[str, Any]:
    """A ban or a freeze seen by the run reaches the check as what it is, not as a bare refusal."""
    if isinstance(error, AccountBanned):
        return {"raised": "banned", "message": error.message, "deleted": error.deleted}
    if isinstance(error, AccountFrozen):
        until = error.until.isoformat() if error.until is not None else None
        return {"raised": "frozen", "message": error.message, "appeal_url": error.appeal_url, "until": until}
    return {"raised": "refused", "message": error.message}


def _error_from_json(data: dict[str, Any]) -> TelegramError:
    if data["raised"] == "banned":
        return AccountBanned(data["message"], deleted=bool(data.get("deleted")))
    if data["raised"] == "frozen":
        until = datetime.datetime.fromisoformat(data["until"]) if data.get("until") else None
        return AccountFrozen(data["message"], appeal_url=data.get("appeal_url", ""), until=until)
    return TelegramError(data["message"])


def _served_view(instance: ConnectorInstance) -> AccountView | None:
    """The account view answered by the archive run that holds the dashboard's connection.

    None when no run holds it (or it let go while asked): the caller takes the lease itself.
    """
    holder = lease_serving(session=instance.session)
    if holder is None:
        return None
    served = lease_ask(session=instance.session, holder=holder, method=ACCOUNT_VIEW, wait=SERVED_WAIT_SECONDS)
    if served is None:
        return None
    if served.error:
        raise TelegramError(served.error)
    answer = served.answer or {}
    if "raised" in answer:
        raise _error_from_json(answer)
    return _view_from_json(answer)


def connector_sighting(
    *, instance: ConnectorInstance, actor: Actor, action: str, lease_wait: float | None = None, served: bool = False
) -> ConnectorSighting:
    """Is the connector's authorization still listed? Asked through the dashboard's key, never the connector's.

    One look at the account (its authorizations and its two-step verification) answers it; the
    look comes back in the sighting for the security watch. ``served``: while an archive run holds
    the dashboard's connection, the run asks Telegram over it between two chunks (a health check
    never interrupts a run); InstanceBusy when it does not answer within SERVED_WAIT_SECONDS.
    """
    view = _served_view(instance) if served else None
    if view is None:
        with telegram_operation(instance=instance, actor=actor, action=action, lease_wait=lease_wait) as op:
            view = account_view(session=op.session, api=op.api, label=op.label)
    listed = _connector_listed(instance, view.authorizations)
    alive = listed is not None or instance.connector_authorization_hash is None
    return ConnectorSighting(alive=alive, listed=listed, view=view)


def connector_requests_serve(*, session: str, holder: str, account: Callable[[], AccountView]) -> int:
    """Answer the checks waiting for ``holder``'s connection (an archive run calls this between chunks).

    ``account`` looks at the account over the holder's connection. While that connection is down
    the requests stay for the next call (after the reconnect); returns how many were answered.
    """
    answered = 0
    for request in lease_requests_waiting(session=session, holder=holder):
        if request.method != ACCOUNT_VIEW:
            lease_request_answer(request=request, error=f"{request.method} is not served by a running archive.")
            continue
        try:
            found = account()
        except TelegramUnreachable:
            return answered
        except TelegramError as error:
            lease_request_answer(request=request, answer=_error_as_json(error))
        else:
            lease_request_answer(request=request, answer=_view_as_json(found))
        answered += 1
        logger.info("%s answered %s for a check of %s over its connection", holder, request.method, session)
    return answered
