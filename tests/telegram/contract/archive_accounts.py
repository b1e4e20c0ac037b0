"""The contract: what real accounts' dialogs hold that an archive must survive (Cy's account in the demo).

A channel the account was removed from stays in messages.getDialogs as channelForbidden and its
history answers CHANNEL_PRIVATE. A basic group upgraded to a supergroup leaves the dialog list; its
messages stay under its own ids, named by the supergroup's channelFull.migrated_from_chat_id and
first message (messageActionChannelMigrateFrom), and it ends with messageActionChatMigrateTo.
"""

from __future__ import annotations

import pytest
from telethon import errors, functions, types, utils

from tests.telegram.contract.harness import ADA, CY, Harness, dialog, signed_in


class ArchiveAccountsContract:
    """A forbidden channel and an upgraded group in an account's dialogs."""

    async def test_a_channel_the_account_was_removed_from_is_listed_as_forbidden(self, telegram: Harness) -> None:
        client = await signed_in(telegram, CY)
        gone = await dialog(client, "Demo Gone Private")
        assert isinstance(gone.entity, types.ChannelForbidden)
        with pytest.raises(errors.ChannelPrivateError):
            await client.get_messages(gone.entity, limit=10)
        with pytest.raises(errors.ChannelPrivateError):
            await client(functions.channels.GetFullChannelRequest(utils.get_input_channel(gone.entity)))
        await client.disconnect()

    async def test_an_upgraded_group_keeps_its_history_on_both_sides(self, telegram: Harness) -> None:
        client = await signed_in(telegram, CY)
        names = [d.name async for d in client.iter_dialogs()]
        assert names.count("Demo Club") == 1  # the old basic group left the list
        club = await dialog(client, "Demo Club")
        assert isinstance(club.entity, types.Channel) and club.entity.megagroup
        full = (await client(functions.channels.GetFullChannelRequest(utils.get_input_channel(club.entity)))).full_chat
        assert full.migrated_from_chat_id and full.migrated_from_max_id
        new = [m async for m in client.iter_messages(club.entity, wait_time=0)]
        assert isinstance(new[-1].action, types.MessageActionChannelMigrateFrom)
        assert new[-1].action.chat_id == full.migrated_from_chat_id and new[-1].id == 1
        old = [m async for m in client.iter_messages(types.InputPeerChat(full.migrated_from_chat_id), wait_time=0)]
        assert old[0].id == full.migrated_from_max_id
        assert isinstance(old[0].action, types.MessageActionChatMigrateTo)
        assert old[0].action.channel_id == club.entity.id
        assert isinstance(old[-1].action, types.MessageActionChatCreate)
        assert all(m.text for m in old[1:-1]) and all(m.text for m in new[:-1])
        assert max(m.date for m in old) < min(m.date for m in new)
        chat = await client.get_entity(types.PeerChat(full.migrated_from_chat_id))
        assert chat.deactivated and chat.migrated_to.channel_id == club.entity.id
        await client.disconnect()

    async def test_new_messages_never_arrive_in_the_frozen_chats(self, telegram: Harness) -> None:
        before = telegram.world.history_of(CY)
        telegram.world.seed_messages(CY, per_dialog=3)
        after = telegram.world.history_of(CY)
        grown = {peer for peer in after if len(after[peer]) > len(before.get(peer, []))}
        client = await signed_in(telegram, CY)
        listed = {d.id: d for d in [d async for d in client.iter_dialogs()]}
        assert grown == {peer for peer, d in listed.items() if not isinstance(d.entity, types.ChannelForbidden)}
        await client.disconnect()

    async def test_other_accounts_have_neither(self, telegram: Harness) -> None:
        client = await signed_in(telegram, ADA)
        names = {d.name async for d in client.iter_dialogs()}
        assert "Demo Gone Private" not in names and "Demo Club" not in names
        await client.disconnect()
