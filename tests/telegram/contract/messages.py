"""The contract: dialogs, history and takeout, as an archive reads them."""

from __future__ import annotations

import datetime

import pytest
from telethon import errors, functions, types

from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    Harness,
    connected,
    dialog,
    signed_in,
)


class MessagesContract:
    """Seeded chats, history windows, messages by id, forum topics, takeout."""

    async def test_each_account_has_a_contact_a_group_a_channel_and_a_forum(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        dialogs = [d async for d in client.iter_dialogs()]
        kinds = {d.name: type(d.entity).__name__ for d in dialogs}
        assert kinds == {"Dana Contact": "User", "Demo Family": "Chat", "Demo News": "Channel", "Demo Forum": "Channel"}
        by_name = {d.name: d for d in dialogs}
        assert by_name["Demo News"].entity.broadcast and by_name["Demo Forum"].entity.forum
        assert dialogs[0].pinned and dialogs[0].name == "Dana Contact"
        rest = [d.date for d in dialogs[1:]]
        assert rest == sorted(rest, reverse=True)
        await client.disconnect()

    async def test_dialogs_paginate_without_gaps_or_repeats(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=3, dialogs=230)
        client = await signed_in(telegram)
        dialogs = [d async for d in client.iter_dialogs()]
        assert len(dialogs) == 230 and len({d.id for d in dialogs}) == 230
        dates = [d.date for d in dialogs if not d.pinned]
        assert dates == sorted(dates, reverse=True)
        assert (await client.get_dialogs(limit=0)).total == 230
        await client.disconnect()

    async def test_history_comes_newest_first_and_honours_limits_and_min_id(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=450)
        client = await signed_in(telegram)
        news = (await dialog(client, "Demo News")).input_entity
        everything = [m.id async for m in client.iter_messages(news, wait_time=0)]
        assert everything == list(range(474, 0, -1))
        assert (await client.get_messages(news, limit=0)).total == 474
        assert [m.id async for m in client.iter_messages(news, limit=150, wait_time=0)] == list(range(474, 324, -1))
        assert [m.id async for m in client.iter_messages(news, min_id=400, wait_time=0)] == list(range(474, 400, -1))
        assert [m.id async for m in client.iter_messages(news, max_id=11, wait_time=0)] == list(range(10, 0, -1))
        assert [
            m.id async for m in client.iter_messages(news, reverse=True, min_id=300, limit=120, wait_time=0)
        ] == list(range(301, 421))
        assert [m.id async for m in client.iter_messages(news, offset_id=200, limit=3, wait_time=0)] == [199, 198, 197]
        await client.disconnect()

    async def test_an_offset_date_of_zero_means_no_offset(self, telegram: Harness) -> None:
        # On the wire an absent offset_date is 0, which Telethon reads back as the epoch: a server
        # that sees the request as sent (bench/_demo_server.py) gets a datetime, not None.
        client = await signed_in(telegram)
        news = (await dialog(client, "Demo News")).input_entity

        async def page(offset_date: datetime.datetime | None) -> list[int]:
            answer = await client(
                functions.messages.GetHistoryRequest(
                    peer=news, offset_id=0, offset_date=offset_date, add_offset=0, limit=5, max_id=0, min_id=0, hash=0
                )
            )
            return [m.id for m in answer.messages]

        newest = await page(None)
        assert len(newest) == 5 and newest == sorted(newest, reverse=True)
        assert await page(datetime.datetime.fromtimestamp(0, datetime.UTC)) == newest
        await client.disconnect()

    async def test_history_windows_follow_add_offset(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await dialog(client, "Demo News")).input_entity

        async def window(offset_id: int, add_offset: int, limit: int, max_id: int = 0, min_id: int = 0) -> list[int]:
            result = await client(
                functions.messages.GetHistoryRequest(
                    peer=news,
                    offset_id=offset_id,
                    offset_date=None,
                    add_offset=add_offset,
                    limit=limit,
                    max_id=max_id,
                    min_id=min_id,
                    hash=0,
                )
            )
            assert result.count == 24
            return [m.id for m in result.messages]

        assert await window(20, 0, 3) == [19, 18, 17]
        assert await window(20, 2, 3) == [17, 16, 15]
        assert await window(20, -2, 4) == [21, 20, 19, 18]
        assert await window(10, -6, 3) == [15, 14, 13]
        assert await window(0, 0, 5, max_id=8, min_id=4) == [7, 6, 5]
        assert await window(3, 0, 10) == [2, 1]
        await client.disconnect()

    async def test_history_can_start_at_a_date(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        family = (await dialog(client, "Demo Family")).input_entity
        messages = [m async for m in client.iter_messages(family, wait_time=0)]
        middle = messages[10]
        older = [m.id async for m in client.iter_messages(family, offset_date=middle.date, wait_time=0)]
        assert older == [m.id for m in messages if m.date < middle.date]
        await client.disconnect()

    async def test_messages_carry_what_an_archive_needs(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=200)
        client = await signed_in(telegram)
        news = [m async for m in client.iter_messages((await dialog(client, "Demo News")).input_entity, wait_time=0)]
        family = [
            m async for m in client.iter_messages((await dialog(client, "Demo Family")).input_entity, wait_time=0)
        ]
        forum = [m async for m in client.iter_messages((await dialog(client, "Demo Forum")).input_entity, wait_time=0)]
        assert all(m.views is not None and m.post for m in news if isinstance(m, types.Message))
        assert any(
            isinstance(m.action, types.MessageActionChannelCreate) for m in news if isinstance(m, types.MessageService)
        )
        assert any(
            isinstance(m.action, types.MessageActionChatCreate) for m in family if isinstance(m, types.MessageService)
        )
        assert any(
            isinstance(m.action, types.MessageActionTopicCreate) for m in forum if isinstance(m, types.MessageService)
        )
        everything = news + family + forum
        assert any(m.photo for m in everything) and any(m.document for m in everything)
        documents = [m for m in everything if m.document]
        assert all(m.file.size and m.file.mime_type for m in documents)
        assert all(m.file.name for m in documents if not m.voice)  # a voice message has no file name
        assert any(m.edit_date for m in everything) and any(m.fwd_from for m in everything)
        replies = [m for m in family if m.reply_to and not getattr(m.reply_to, "forum_topic", False)]
        ids = {m.id for m in family}
        assert replies and all(m.reply_to.reply_to_msg_id in ids for m in replies)
        albums: dict[int, list] = {}
        for m in everything:
            if m.grouped_id:
                albums.setdefault(m.grouped_id, []).append(m)
        assert albums and all(len(group) > 1 for group in albums.values())
        assert any(m.reply_to and m.reply_to.forum_topic for m in forum)
        senders = {m.sender_id for m in family if m.sender_id}
        assert ADA_ID in senders and len(senders) == 3
        assert all(m.sender is not None for m in family if m.sender_id)  # the users came with the messages
        await client.disconnect()

    async def test_messages_can_be_fetched_by_id(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await dialog(client, "Demo News")).input_entity
        fetched = await client.get_messages(news, ids=[3, 5, 99999])
        assert [m.id if m else None for m in fetched] == [3, 5, None]
        family = await dialog(client, "Demo Family")
        newest = (await client.get_messages(family.input_entity, limit=1))[0]
        again = await client.get_messages(family.input_entity, ids=newest.id)
        assert again.id == newest.id and again.message == newest.message
        await client.disconnect()

    async def test_the_forum_lists_its_topics(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        forum = (await dialog(client, "Demo Forum")).input_entity
        topics = await client(
            functions.messages.GetForumTopicsRequest(
                peer=forum, offset_date=None, offset_id=0, offset_topic=0, limit=10
            )
        )
        assert [t.title for t in topics.topics][0] == "General" and topics.count == len(topics.topics) == 4
        in_topics = {
            m.reply_to.reply_to_msg_id
            async for m in client.iter_messages(forum, wait_time=0)
            if m.reply_to and m.reply_to.forum_topic
        }
        assert in_topics <= {t.id for t in topics.topics} and in_topics
        await client.disconnect()

    async def test_a_forged_access_hash_is_refused(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await dialog(client, "Demo News")).input_entity
        with pytest.raises(errors.ChannelInvalidError):
            await client(
                functions.messages.GetHistoryRequest(
                    types.InputPeerChannel(news.channel_id, news.access_hash ^ 1), 0, None, 0, 1, 0, 0, 0
                )
            )
        await client.disconnect()

    async def test_history_needs_a_signed_in_key(self, telegram: Harness) -> None:
        client = await connected(telegram)
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await client(functions.messages.GetDialogsRequest(None, 0, types.InputPeerEmpty(), 10, 0))
        await client.disconnect()

    # -- takeout ------------------------------------------------------------------------------

    async def test_takeout_waits_until_the_user_allows_it(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        with pytest.raises(errors.TakeoutInitDelayError) as delay:
            async with client.takeout():
                pass
        assert delay.value.seconds > 3600
        telegram.world.approve_takeout(ADA)
        async with client.takeout(finalize=True) as takeout:
            news = (await dialog(client, "Demo News")).input_entity
            assert len(await takeout.get_messages(news, limit=5)) == 5
        assert client.session.takeout_id is None
        await client.disconnect()
