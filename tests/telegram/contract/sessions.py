"""The contract: session strings, auth keys and the DCs they belong to."""

from __future__ import annotations

import os
import struct

import pytest
from telethon import errors, functions
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

from tests.telegram.contract.harness import (
    ADA_ID,
    Harness,
    connected,
    session_of,
)


class SessionsContract:
    """What a session string carries and where its key is valid."""

    async def test_a_session_string_survives_a_new_client(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        client = await connected(telegram, session)
        assert (await client.get_me()).id == ADA_ID
        assert client.session.save() == session
        await client.disconnect()

    async def test_a_session_string_works_from_another_process(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        elsewhere = telegram.reopen()
        client = await connected(telegram, session, world=elsewhere)
        assert (await client.get_me()).id == ADA_ID
        assert elsewhere.is_authorized(session)
        await client.disconnect()

    async def test_logging_out_unregisters_the_key(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        client = await connected(telegram, session)
        assert await client.log_out() is True
        assert not telegram.world.is_authorized(session)
        client = await connected(telegram, session)
        assert await client.get_me() is None
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await client(functions.updates.GetStateRequest())
        await client.disconnect()

    async def test_a_key_the_dc_never_issued_is_not_found(self, telegram: Harness) -> None:
        forged = StringSession()
        forged.set_dc(2, "127.0.0.1", 4432)
        forged.auth_key = AuthKey(os.urandom(256))
        client = telegram.client(forged.save())
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        assert not client.is_connected()
        await client.disconnect()

    async def test_a_key_is_only_known_on_the_dc_that_issued_it(self, telegram: Harness) -> None:
        moved = StringSession(await session_of(telegram))
        moved.set_dc(3, "127.0.0.1", 4433)
        client = telegram.client(moved.save())
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        await client.disconnect()

    @pytest.mark.parametrize("session", ["1abc", "2" + "A" * 40, "1" + "QUFB" * 5])
    async def test_a_malformed_session_string_fails_when_the_client_is_built(self, telegram: Harness, session) -> None:
        with pytest.raises((ValueError, struct.error)):
            telegram.client(session)

    async def test_the_config_points_every_dc_at_localhost(self, telegram: Harness) -> None:
        client = await connected(telegram)
        config = await client(functions.help.GetConfigRequest())
        assert {(dc.id, dc.ip_address, dc.port) for dc in config.dc_options} == {
            (1, "127.0.0.1", 4431),
            (2, "127.0.0.1", 4432),
            (3, "127.0.0.1", 4433),
        }
        assert config.this_dc == 2
        assert (await client(functions.help.GetNearestDcRequest())).this_dc == 2
        await client.disconnect()

    async def test_connecting_without_a_key_creates_one(self, telegram: Harness) -> None:
        client = telegram.client("")
        assert client.session.auth_key is None
        await client.connect()
        key = client.session.auth_key
        assert key is not None and len(key.key) == 256
        assert StringSession(client.session.save()).auth_key.key == key.key
        await client.disconnect()
        again = await connected(telegram, client.session.save())
        assert again.session.auth_key.key == key.key  # a known key is kept, not replaced
        await again.disconnect()
