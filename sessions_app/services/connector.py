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
from sessions_app.telegram.account import Authorization, list_authorizations
from sessions_app.telegram.errors import TelegramError, TelegramUnreachable

logger = logging.getLogger(__name__)

GET_AUTHORIZATIONS = "account.getAuthorizations"
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


def _connector_listed(instance: ConnectorInstance, authorizations: list[Authorization]) -> Authorization | None:
    """The connector's authorization among the dashboard's view of the account's sessions."""
    for item in authorizations:
        if item.hash == instance.connector_authorization_hash and not item.current:
            return item
    return None


def _as_json(item: Authorization) -> dict[str, Any]:
    data = dataclasses.asdict(item)
    for name in ("date_created", "date_active"):
        data[name] = data[name].isoformat() if data[name] is not None else None
    return data


def _from_json(data: dict[str, Any]) -> Authorization:
    dates = {name: datetime.datetime.fromisoformat(data[name]) if data[name] else None
             for name in ("date_created", "date_active")}  # fmt: skip
    return Authorization(**{**data, **dates})


def _served_authorizations(instance: ConnectorInstance) -> list[Authorization] | None:
    """account.getAuthorizations answered by the archive run that holds the dashboard's connection.

    None when no run holds it (or it let go while asked): the caller takes the lease itself.
    """
    holder = lease_serving(session=instance.session)
    if holder is None:
        return None
    served = lease_ask(session=instance.session, holder=holder, method=GET_AUTHORIZATIONS, wait=SERVED_WAIT_SECONDS)
    if served is None:
        return None
    if served.error:
        raise TelegramError(served.error)
    return [_from_json(item) for item in served.answer or []]


def connector_sighting(
    *, instance: ConnectorInstance, actor: Actor, action: str, lease_wait: float | None = None, served: bool = False
) -> ConnectorSighting:
    """Is the connector's authorization still listed? Asked through the dashboard's key, never the connector's.

    ``served``: while an archive run holds the dashboard's connection, the run asks Telegram over
    it between two chunks (a health check never interrupts a run); InstanceBusy when it does not
    answer within SERVED_WAIT_SECONDS.
    """
    authorizations = _served_authorizations(instance) if served else None
    if authorizations is None:
        with telegram_operation(instance=instance, actor=actor, action=action, lease_wait=lease_wait) as op:
            authorizations = list_authorizations(session=op.session, api=op.api, label=op.label)
    listed = _connector_listed(instance, authorizations)
    return ConnectorSighting(alive=listed is not None or instance.connector_authorization_hash is None, listed=listed)


def connector_requests_serve(*, session: str, holder: str, authorizations: Callable[[], list[Authorization]]) -> int:
    """Answer the checks waiting for ``holder``'s connection (an archive run calls this between chunks).

    ``authorizations`` asks Telegram over the holder's connection. While that connection is down
    the requests stay for the next call (after the reconnect); returns how many were answered.
    """
    answered = 0
    for request in lease_requests_waiting(session=session, holder=holder):
        if request.method != GET_AUTHORIZATIONS:
            lease_request_answer(request=request, error=f"{request.method} is not served by a running archive.")
            continue
        try:
            found = authorizations()
        except TelegramUnreachable:
            return answered
        except TelegramError as error:
            lease_request_answer(request=request, error=error.message)
        else:
            lease_request_answer(request=request, answer=[_as_json(item) for item in found])
        answered += 1
        logger.info("%s answered %s for a check of %s over its connection", holder, request.method, session)
    return answered
