"""Media files of archived messages: read a message's file (id, kind, size) and download it by parts.

Used by ArchiveConnection (telegram.archive) on the archive's own connection. Telethon's objects
stay here: a RemoteMedia carries the message only to address the download.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any

from telethon import TelegramClient, errors, functions, types

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.text import storable

# Telegram's largest part (upload.getFile limit) that also divides 1 MB: fewer round trips.
PART_SIZE = 512 * 1024
# Which of the archive's kinds each of Telethon's media kinds belongs to.
KIND_OF = {
    "photo": "photo",
    "document": "document",
    "audio": "document",
    "gif": "document",
    "sticker": "document",
    "voice": "voice",
    "video": "video",
    "video_note": "video",
}


class FileReferenceExpired(app_errors.TelegramError):
    default_message = "Telegram says this file's reference has expired: read the message again for a fresh one."


@dataclass(frozen=True)
class RemoteMedia:
    """The file of one message, as Telegram describes it now."""

    message_id: int
    file_id: int
    kind: str  # photo, document, voice or video (KIND_OF)
    size: int
    mime: str
    file_name: str
    message: Any = field(repr=False, compare=False)  # Telethon's Message, to address the download


def _detail_kind(message: types.Message) -> str:
    if message.photo is not None:
        return "photo"
    for attribute in ("sticker", "voice", "video_note", "gif", "video", "audio"):
        if getattr(message, attribute, None):
            return attribute
    return "document"


def remote_media(message: Any) -> RemoteMedia | None:
    """The file a message carries, or None (no message, no photo or document)."""
    if not isinstance(message, types.Message) or (message.photo is None and message.document is None):
        return None
    file = message.file
    media = message.photo if message.photo is not None else message.document
    kind = KIND_OF[_detail_kind(message)]
    mime = "image/jpeg" if kind == "photo" else (file.mime_type or "application/octet-stream")
    return RemoteMedia(
        message_id=message.id,
        file_id=int(media.id),
        kind=kind,
        size=int(file.size or 0),
        mime=storable(mime, 120),
        file_name=storable(file.name, 300),
        message=message,
    )


async def fetch(requester: TelegramClient, entity: Any, message_ids: list[int]) -> dict[int, RemoteMedia]:
    """The files of these messages of one chat, read again (messages/channels.getMessages): fresh references."""
    found: dict[int, RemoteMedia] = {}
    for start in range(0, len(message_ids), 100):
        messages = await requester.get_messages(entity, ids=message_ids[start : start + 100])
        for message in messages:
            item = remote_media(message)
            if item is not None:
                found[item.message_id] = item
    return found


class _InTakeout:
    """The client as Telethon's download iterator sees it, with each upload.getFile sent inside a takeout.

    Telethon's download iterator sends its requests through the client's internal ``_call``,
    past the takeout proxy of ``client.takeout()``; this wraps them there (on an exported sender of
    another DC too). Everything else is the client's. It leans on two Telethon internals
    (``_call``, ``_iter_download``): Telethon has no public hook for a download inside a takeout.
    """

    # The iterator is built on this object (not on the client), so its requests come back to _call.
    _iter_download = TelegramClient._iter_download

    def __init__(self, client: TelegramClient, takeout_id: int) -> None:
        self._teleconnect_client = client
        self._teleconnect_takeout_id = takeout_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._teleconnect_client, name)

    async def _call(self, sender: Any, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None) -> Any:
        wrapped = functions.InvokeWithTakeoutRequest(self._teleconnect_takeout_id, request)
        return await self._teleconnect_client._call(
            sender, wrapped, ordered=ordered, flood_sleep_threshold=flood_sleep_threshold
        )


async def download(
    requester: TelegramClient, item: RemoteMedia, sink: IO[bytes], offset: int = 0, *, takeout_id: int | None = None
) -> int:
    """Append the file from `offset` to `sink` part by part (upload.getFile); returns the bytes written.

    `offset` is a multiple of PART_SIZE (what an earlier, interrupted call left in the sink), so a
    flood wait in the middle of a big file costs only the part in flight. With `takeout_id` every
    part is asked for inside that takeout.
    """
    written = 0
    remaining = -(-(item.size - offset) // PART_SIZE) if item.size else None
    client: Any = requester
    if takeout_id is not None:
        # The unbound method, so that the iterator calls back into the wrapper, not the client.
        client = _InTakeout(getattr(requester, "_TakeoutClient__client", requester), takeout_id)
    try:
        async for part in TelegramClient.iter_download(
            client, item.message.media, offset=offset, request_size=PART_SIZE, file_size=item.size or None,
            limit=remaining,
        ):  # fmt: skip
            sink.write(part)
            written += len(part)
    except (errors.FileReferenceExpiredError, errors.FilerefUpgradeNeededError) as exc:
        raise FileReferenceExpired() from exc
    return written


async def download_into(
    requester: TelegramClient, item: RemoteMedia, sink: IO[bytes], offset: int = 0, *, takeout_id: int | None = None
) -> app_errors.TelegramError | None:
    """download(), with the failure returned (translated) instead of raised: for a download started ahead."""
    try:
        await download(requester, item, sink, offset, takeout_id=takeout_id)
    except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated for the caller
        return app_errors.translate(exc)
    return None
