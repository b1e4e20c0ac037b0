"""The contract: flood waits and rate limits."""

from __future__ import annotations

import pytest
from telethon import errors

from tests.telegram.contract.harness import (
    ADA,
    UNREGISTERED_DC2,
    Harness,
    connected,
    dialog,
    signed_in,
)


class FloodContract:
    """FLOOD_WAIT answers that count down with the clock."""

    async def test_a_flood_wait_counts_down_with_the_clock_and_clears(self, telegram: Harness) -> None:
        telegram.world.flood("auth.sendCode", 120)
        client = await connected(telegram)
        with pytest.raises(errors.FloodWaitError) as first:
            await client.send_code_request(ADA)
        assert first.value.seconds == 120
        await client.disconnect()
        telegram.clock.advance(50)
        client = await connected(telegram)  # a new client: Telethon remembers floods per client in real time
        with pytest.raises(errors.FloodWaitError) as second:
            await client.send_code_request(ADA)
        assert second.value.seconds == 70
        await client.disconnect()
        telegram.clock.advance(71)
        client = await connected(telegram)
        assert (await client.send_code_request(ADA)).phone_code_hash
        await client.disconnect()

    async def test_a_flood_on_one_number_leaves_the_others_alone(self, telegram: Harness) -> None:
        telegram.world.flood("auth.sendCode", 300, phone=ADA)
        client = await connected(telegram)
        with pytest.raises(errors.FloodWaitError):
            await client.send_code_request(ADA)
        other = await connected(telegram)
        assert (await other.send_code_request(UNREGISTERED_DC2)).phone_code_hash
        await client.disconnect()
        await other.disconnect()

    async def test_a_rate_limit_floods_beyond_its_count_per_window(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        telegram.world.set_rate_limit("messages.getHistory", 3, 10)
        news = await dialog(client, "Demo News")
        for _ in range(3):
            await client.get_messages(news.input_entity, limit=1)
        telegram.clock.advance(4)
        with pytest.raises(errors.FloodWaitError) as flood:
            await client.get_messages(news.input_entity, limit=1)
        assert flood.value.seconds == 6
        await client.disconnect()
        telegram.clock.advance(6)
        client = await connected(telegram, client.session.save())
        assert len(await client.get_messages(news.input_entity, limit=1)) == 1
        await client.disconnect()
