"""The contract: media messages and upload.getFile serve what the messages advertise."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from telethon import TelegramClient, errors, functions, types, utils

from tests.telegram.contract.harness import ADA, Harness, dialog, signed_in


async def media_messages(client: TelegramClient, name: str) -> list[Any]:
    chat = await dialog(client, name)
    return [m async for m in client.iter_messages(chat.input_entity) if m.photo or m.document]


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of each segment up to the scan, or AssertionError if this is not a well-formed JPEG."""
    assert data[:2] == b"\xff\xd8", "no JPEG start-of-image marker"
    assert data[-2:] == b"\xff\xd9", "no JPEG end-of-image marker"
    markers, at = [], 2
    while True:
        assert data[at] == 0xFF, f"no segment marker at byte {at}"
        marker = data[at + 1]
        markers.append(marker)
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker == 0xDA:  # start of scan: entropy-coded data follows up to the end marker
            return markers
        at += 2 + length


class MediaContract:
    """Each media message carries a file (id, access hash, reference, DC, size) getFile serves exactly."""

    async def test_every_media_file_downloads_to_its_advertised_size_and_the_same_bytes_twice(
        self, telegram: Harness
    ) -> None:
        client = await signed_in(telegram)
        found = await media_messages(client, "Demo Family")
        assert found
        for message in found:
            data = await client.download_media(message, file=bytes)
            assert len(data) == message.file.size, message.id
            assert await client.download_media(message, file=bytes) == data
        await client.disconnect()

    async def test_photos_are_jpeg_images(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        photos = [m for m in await media_messages(client, "Demo Family") if m.photo]
        assert photos
        for message in photos:
            assert message.file.mime_type == "image/jpeg"
            markers = jpeg_segments(await client.download_media(message, file=bytes))
            assert {0xC0, 0xC4, 0xDB, 0xDA} <= set(markers)  # frame, Huffman and quantisation tables, scan
        await client.disconnect()

    async def test_the_media_covers_photos_documents_voice_and_video_from_a_few_hundred_bytes_up(
        self, telegram: Harness
    ) -> None:
        telegram.world.seed_messages(ADA, per_dialog=60)
        client = await signed_in(telegram)
        found = [m for name in ("Demo Family", "Demo News", "Demo Forum") for m in await media_messages(client, name)]
        kinds = {"photo" if m.photo else "voice" if m.voice else "video" if m.video else "document" for m in found}
        assert kinds == {"photo", "document", "voice", "video"}
        sizes = [m.file.size for m in found]
        assert min(sizes) < 1024
        assert max(sizes) > 128 * 1024  # more than one default part
        for message in found:
            media = message.photo or message.document
            assert media.access_hash and media.file_reference and media.dc_id
        await client.disconnect()

    async def test_a_file_bigger_than_a_part_arrives_in_parts_by_offset_and_limit(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=60)
        client = await signed_in(telegram)
        found = [m for name in ("Demo Family", "Demo News") for m in await media_messages(client, name)]
        big = next(m for m in found if 128 * 1024 < m.file.size < 4 * 1024 * 1024)
        whole = await client.download_media(big, file=bytes)
        parts = [part async for part in client.iter_download(big.media, request_size=64 * 1024)]
        assert len(parts) == -(-big.file.size // (64 * 1024))
        assert b"".join(parts) == whole
        location = utils.get_input_location(big.media)[1]
        window = await client(functions.upload.GetFileRequest(location, offset=8192, limit=4096))
        assert window.bytes == whole[8192 : 8192 + 4096]
        await client.disconnect()

    async def test_two_messages_can_carry_the_same_file(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        documents = [m.document for name in ("Demo Family", "Dana Contact") for m in await media_messages(client, name)]
        ids = [d.id for d in documents if d is not None]
        assert len(ids) > len(set(ids))
        await client.disconnect()

    async def test_a_message_fetched_again_by_id_carries_the_same_file(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        for name in ("Demo Family", "Demo News"):  # messages.getMessages, then channels.getMessages
            chat = await dialog(client, name)
            first = (await media_messages(client, name))[0]
            again = await client.get_messages(chat.input_entity, ids=first.id)
            assert (again.photo or again.document).id == (first.photo or first.document).id
            assert await client.download_media(again, file=bytes) == await client.download_media(first, file=bytes)
        await client.disconnect()

    async def test_get_file_refuses_a_wrong_access_hash(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        message = (await media_messages(client, "Demo Family"))[0]
        location = utils.get_input_location(message.media)[1]
        location.access_hash ^= 1
        with pytest.raises(errors.RPCError):
            await client(functions.upload.GetFileRequest(location, offset=0, limit=4096))
        await client.disconnect()

    async def test_get_file_floods_beyond_its_rate_limit(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        message = next(m for m in await media_messages(client, "Demo Family") if m.file.size < 64 * 1024)
        telegram.world.set_rate_limit("upload.getFile", 2, 30)
        await client.download_media(message, file=bytes)
        await client.download_media(message, file=bytes)
        with pytest.raises(errors.FloodWaitError) as flood:
            await client.download_media(message, file=bytes)
        assert flood.value.seconds == 30
        telegram.clock.advance(30)
        assert len(await client.download_media(message, file=bytes)) == message.file.size
        await client.disconnect()

    async def test_an_expired_file_reference_is_refused_until_the_message_is_read_again(
        self, telegram: Harness
    ) -> None:
        client = await signed_in(telegram)
        chat = await dialog(client, "Demo Family")
        message = next(m for m in await media_messages(client, "Demo Family") if m.photo)
        telegram.world.expire_file_references()
        with pytest.raises(errors.FileReferenceExpiredError):
            await client.download_media(message, file=bytes)
        fresh = await client.get_messages(chat.input_entity, ids=message.id)
        assert isinstance(fresh.media, types.MessageMediaPhoto)
        assert len(await client.download_media(fresh, file=bytes)) == message.file.size
        await client.disconnect()
