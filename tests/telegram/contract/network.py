"""The contract: dropped connections and outages, and the takeout's approval delay.

A connection to Telegram can break under any request; reconnecting fails while the network stays
down. A new takeout (account.initTakeoutSession) answers TAKEOUT_INIT_DELAY until the owner
approves the export in an app, and each one asked for is counted (Telegram notifies the owner's
devices every time).
"""

from __future__ import annotations

import pytest
from telethon import errors, functions

from tests.telegram.contract.harness import ADA, ADA_ID, DAY, Harness, connected, session_of


class NetworkContract:
    """drop_connections(session, after_requests=N, down_seconds=S); takeout_inits and takeout_requests."""

    async def test_a_dropped_connection_fails_its_request_and_reconnecting_waits_for_the_outage(
        self, telegram: Harness
    ) -> None:
        session = await session_of(telegram)
        client = await connected(telegram, session)
        telegram.world.drop_connections(session, after_requests=2, down_seconds=60)
        assert (await client.get_me()).id == ADA_ID  # the first request still goes through
        with pytest.raises(ConnectionError):
            await client.get_me()
        assert not client.is_connected()
        await client.disconnect()
        again = telegram.client(session)
        with pytest.raises(ConnectionError):
            await again.connect()
        await again.disconnect()
        telegram.clock.advance(61)
        back = await connected(telegram, session)
        assert (await back.get_me()).id == ADA_ID  # the key survived the outage
        await back.disconnect()

    async def test_a_drop_concerns_only_the_key_it_was_set_for(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        other = await session_of(telegram)
        telegram.world.drop_connections(session, after_requests=1, down_seconds=60)
        bystander = await connected(telegram, other)
        assert (await bystander.get_me()).id == ADA_ID
        await bystander.disconnect()
        with pytest.raises(ConnectionError):
            await connected(telegram, session)  # its connect sends the first request, which breaks

    async def test_a_takeout_waits_for_the_owners_approval_and_each_init_is_counted(self, telegram: Harness) -> None:
        client = await connected(telegram, await session_of(telegram))
        before = telegram.world.takeout_inits(ADA)
        with pytest.raises(errors.TakeoutInitDelayError) as delayed:
            await client(functions.account.InitTakeoutSessionRequest(contacts=True))
        assert 0 < delayed.value.seconds <= DAY
        telegram.clock.advance(60)
        with pytest.raises(errors.TakeoutInitDelayError) as again:
            await client(functions.account.InitTakeoutSessionRequest(contacts=True))
        assert again.value.seconds == delayed.value.seconds - 60  # the same request, counting down
        assert telegram.world.takeout_inits(ADA) == before + 2
        telegram.world.approve_takeout(ADA)
        takeout = await client(functions.account.InitTakeoutSessionRequest(contacts=True))
        assert telegram.world.takeout_inits(ADA) == before + 3
        inside = functions.InvokeWithTakeoutRequest(takeout.id, functions.updates.GetStateRequest())
        await client(inside)
        assert telegram.world.takeout_requests(ADA).get("updates.getState") == 1
        await client(functions.InvokeWithTakeoutRequest(takeout.id, functions.account.FinishTakeoutSessionRequest()))
        with pytest.raises(errors.TakeoutInvalidError):
            await client(inside)  # a finished takeout is gone
        await client.disconnect()
