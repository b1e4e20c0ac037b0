"""The connector's authorization as the dashboard's own key sees it: one rule for Verify and the health checks."""

from __future__ import annotations

from dataclasses import dataclass

from sessions_app.models import ConnectorInstance
from sessions_app.services.operations import Actor, telegram_operation
from sessions_app.telegram.account import Authorization, list_authorizations

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


def connector_sighting(
    *, instance: ConnectorInstance, actor: Actor, action: str, lease_wait: float | None = None
) -> ConnectorSighting:
    """Is the connector's authorization still listed? Asked through the dashboard's key, never the connector's."""
    with telegram_operation(instance=instance, actor=actor, action=action, lease_wait=lease_wait) as op:
        authorizations = list_authorizations(session=op.session, api=op.api, label=op.label)
    listed = _connector_listed(instance, authorizations)
    return ConnectorSighting(alive=listed is not None or instance.connector_authorization_hash is None, listed=listed)
