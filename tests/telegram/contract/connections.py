"""The contract: one auth key used from two IPs at the same time is destroyed (AUTH_KEY_DUPLICATED).

The connector service holds its key connected all the time from its own machine; the dashboard
must never use that key meanwhile. ``ip`` is a label the fake gives a client's connections.
"""

from __future__ import annotations

import pytest
from telethon import errors, functions

from tests.telegram.contract.harness import (
    ADA_ID,
    CONNECTOR_IP,
    OTHER_IP,
    Harness,
    authorizations,
    connected,
    own_authorization,
    session_of,
    signed_in,
)


class ConnectionsContract:
    """Live connections of a key, the two-IP rule, and the IP an authorization shows."""

    async def test_a_request_from_a_second_ip_while_the_first_is_connected_destroys_the_key(
        self, telegram: Harness
    ) -> None:
        session = await session_of(telegram)
        watcher = await signed_in(telegram)
        connector = await connected(telegram, session, ip=CONNECTOR_IP, device_model="Connector")
        assert (await connector.get_me()).id == ADA_ID
        assert "Connector" in {a.device_model for a in await authorizations(watcher)}
        intruder = telegram.client(session)  # the same string, from the default IP
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await intruder.connect()  # connecting sends the first request (initConnection)
        await intruder.disconnect()
        assert not telegram.world.is_authorized(session)
        assert "Connector" not in {a.device_model for a in await authorizations(watcher)}
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await connector(functions.updates.GetStateRequest())  # the connector learns on its next request
        await connector.disconnect()
        await watcher.disconnect()

    async def test_a_destroyed_key_answers_401_to_anyone_afterwards(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        connector = await connected(telegram, session, ip=CONNECTOR_IP)
        intruder = await connected(telegram, ip=OTHER_IP)  # another key: not part of the duplicate
        with pytest.raises(errors.AuthKeyDuplicatedError):
            await telegram.client(session).connect()
        await connector.disconnect()
        for ip in (CONNECTOR_IP, OTHER_IP, None):
            later = telegram.client(session, ip=ip)
            with pytest.raises(errors.AuthKeyUnregisteredError):
                await later.connect()
            await later.disconnect()
        assert await intruder.get_me() is None  # its own key was never in danger
        await intruder.disconnect()

    async def test_a_key_moves_between_ips_one_after_the_other(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        for ip in (CONNECTOR_IP, OTHER_IP, CONNECTOR_IP):
            client = await connected(telegram, session, ip=ip)
            assert (await client.get_me()).id == ADA_ID
            assert (await own_authorization(client)).ip == ip  # the IP of its latest request
            await client.disconnect()
        assert telegram.world.is_authorized(session)

    async def test_two_connections_of_a_key_from_the_same_ip_are_fine(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        first = await connected(telegram, session, ip=CONNECTOR_IP)
        second = await connected(telegram, session, ip=CONNECTOR_IP)
        assert (await first.get_me()).id == (await second.get_me()).id == ADA_ID
        assert (await first.get_me()).id == ADA_ID
        await first.disconnect()
        await second.disconnect()
        assert telegram.world.is_authorized(session)

    async def test_the_key_of_a_disconnected_client_is_free_at_once(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        connector = await connected(telegram, session, ip=CONNECTOR_IP)
        await connector.get_me()
        await connector.disconnect()
        dashboard = await connected(telegram, session)
        assert (await dashboard.get_me()).id == ADA_ID
        await dashboard.disconnect()
