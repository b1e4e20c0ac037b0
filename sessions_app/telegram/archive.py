"""Reading an account's dialogs and history for the archive, on one connected client.

Unlike client.run() (one operation per connection), an archive run keeps one connection for
many requests, so this module offers a small session object driven from sync code through the
one bridge (telegram.bridge.LoopThread). Telethon's Message objects never leave this module: they
become ArchivedMessage rows here.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

from telethon import functions, types, utils

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram import media as telegram_media
from sessions_app.telegram.archive_link import ArchiveLink
from sessions_app.telegram.refusals import dialog_refusal
from sessions_app.telegram.text import storable


@dataclass(frozen=True)
class RemoteDialog:
    peer_id: int
    kind: str
    title: str
    username: str
    top_message_id: int
    last_date: datetime.datetime | None
    entity: Any  # Telethon's entity, used only to address requests during this run
    migrated_to: int | None = None  # a basic group upgraded to a supergroup: the supergroup's marked id

    @property
    def input_peer(self) -> Any:
        return utils.get_input_peer(self.entity)


def old_chat(peer_id: int, title: str) -> RemoteDialog:
    """The basic group a supergroup was upgraded from: addressed by its id alone (basic groups need no hash).

    Telegram drops it from the dialog list; its messages stay readable under its own ids.
    """
    return RemoteDialog(
        peer_id=peer_id,
        kind="group",
        title=title,
        username="",
        top_message_id=0,
        last_date=None,
        entity=types.InputPeerChat(utils.resolve_id(peer_id)[0]),
    )


class ArchivedMessage(NamedTuple):
    """One message as the archive stores it: the fields in the order of the row's columns.

    A tuple, because the storing thread turns a chunk of them into one statement's parameters
    (``params += row``) on the hot path of every run. The dates are Unix seconds as Telegram sends
    them (whole seconds, UTC): SQLite formats them into Django's text form inside the statement,
    outside the interpreter lock (services.archive_store).
    """

    message_id: int
    date_unix: float
    edit_date_unix: float | None
    sender_id: int | None
    sender_name: str
    text: str
    reply_to_id: int | None
    topic_id: int | None
    forward_from: str
    media_kind: str
    media_file_name: str
    media_size: int | None
    media_mime: str
    views: int | None
    grouped_id: int | None
    is_service: bool
    action_type: str


@dataclass
class Chunk:
    """Up to `size` messages; `error` is the app error that stopped the iteration early (e.g. FloodWait)."""

    messages: list[ArchivedMessage]
    exhausted: bool
    error: app_errors.TelegramError | None = None
    total: int | None = None
    migrated_from: RemoteDialog | None = None  # messageActionChannelMigrateFrom: the old basic group


def _kind(entity: Any) -> str:
    if isinstance(entity, types.User):
        return "bot" if entity.bot else "user"
    if isinstance(entity, types.ChannelForbidden):
        return "supergroup" if entity.megagroup else "channel"
    if isinstance(entity, types.Channel):
        if getattr(entity, "forum", False):
            return "forum"
        return "supergroup" if entity.megagroup else "channel"
    return "group"


def _document_kind(document: types.Document) -> str:
    """What Telethon's sticker, voice, video_note, gif, video and audio properties tell, in that order.

    Each of them looks at the document's first attribute of its type; one pass here instead of six.
    """
    first: dict[type, Any] = {}
    for attribute in document.attributes:
        first.setdefault(type(attribute), attribute)
    audio = first.get(types.DocumentAttributeAudio)
    video = first.get(types.DocumentAttributeVideo)
    if types.DocumentAttributeSticker in first:
        return "sticker"
    if audio is not None and audio.voice:
        return "voice"
    if video is not None and video.round_message:
        return "video_note"
    if types.DocumentAttributeAnimated in first:
        return "gif"
    if video is not None:
        return "video"
    return "audio" if audio is not None else "document"


def _media(message: types.Message) -> tuple[str, str, int | None, str]:
    media = message.media
    if media is None:
        return "", "", None, ""
    if message.photo is not None:
        kind = "photo"
    elif (document := message.document) is not None:
        kind = _document_kind(document)
    else:
        kind = type(media).__name__.removeprefix("MessageMedia").lower()
    file = message.file
    if file is None:
        return kind, "", None, ""
    return kind, storable(file.name, 300), file.size, storable(file.mime_type, 120)


def _forward(message: types.Message, names: dict[int, str]) -> str:
    forward = message.fwd_from
    if forward is None:
        return ""
    if forward.from_name:
        return storable(forward.from_name, 300)
    if forward.from_id is not None:
        peer_id = utils.get_peer_id(forward.from_id)
        return names[peer_id] if peer_id in names else f"peer {peer_id}"
    return "hidden sender"


def _reply(message: types.Message) -> tuple[int | None, int | None]:
    reply = message.reply_to
    if not isinstance(reply, types.MessageReplyHeader):
        return None, None
    topic = None
    if reply.forum_topic:
        topic = reply.reply_to_top_id or reply.reply_to_msg_id
    return reply.reply_to_msg_id, topic


def _migrated_from(messages: list[types.Message | types.MessageService]) -> RemoteDialog | None:
    """The old basic group a supergroup's first message (messageActionChannelMigrateFrom) names, if any."""
    for message in messages:
        if isinstance(message, types.MessageService) and isinstance(
            message.action, types.MessageActionChannelMigrateFrom
        ):
            action = message.action
            return old_chat(utils.get_peer_id(types.PeerChat(action.chat_id)), storable(action.title, 300))
    return None


def display_names(users: list[Any], chats: list[Any]) -> dict[int, str]:
    """The names of an answer's users and chats by marked peer id, as the archive stores them."""
    return {utils.get_peer_id(entity): storable(utils.get_display_name(entity), 300) for entity in (*users, *chats)}


_NO_MEDIA: tuple[str, str, int | None, str] = ("", "", None, "")
_row = functools.partial(tuple.__new__, ArchivedMessage)  # ArchivedMessage(*values) without its Python __new__


def to_archived(message: types.Message | types.MessageService, names: dict[int, str]) -> ArchivedMessage:
    """The row of one message; `names` are those of its answer's users and chats (display_names()).

    Once per archived message on the reading thread, the one that bounds a run: the common case
    (no reply, no media, no forward) calls no helper.
    """
    sender_id = message.sender_id
    sender_name = names.get(sender_id, "") if sender_id is not None else ""
    reply_to_id, topic_id = (None, None) if message.reply_to is None else _reply(message)
    if isinstance(message, types.MessageService):
        action = type(message.action).__name__.removeprefix("MessageAction")[:80]
        return _row((message.id, message.date.timestamp(), None, sender_id, sender_name, "", reply_to_id, topic_id,
                     "", "", "", None, "", None, None, True, action))  # fmt: skip
    media_kind, file_name, size, mime = _NO_MEDIA if message.media is None else _media(message)
    edited = message.edit_date
    return _row((
        message.id, message.date.timestamp(), None if edited is None else edited.timestamp(), sender_id,
        sender_name, storable(message.message), reply_to_id, topic_id,
        "" if message.fwd_from is None else _forward(message, names), media_kind, file_name, size, mime,
        message.views, message.grouped_id, False, "",
    ))  # fmt: skip


class ArchiveConnection(ArchiveLink):
    """One connected client for a whole archive run, driven from sync code through the bridge.

    The client lives on a LoopThread (sessions_app.telegram.bridge), so the next chunk can be
    read from Telegram while the caller writes the previous one to the database. Telethon errors
    come out as sessions_app.telegram.errors exceptions (FloodWait carries the seconds; the caller
    sleeps and resumes from its checkpoint). Connecting, handing over, reconnecting and the takeout
    are ArchiveLink's (telegram.archive_link); the reading is here.
    """

    def dialogs(self) -> list[RemoteDialog]:
        async def collect() -> list[RemoteDialog]:
            found = []
            async for dialog in self.requester.iter_dialogs():
                entity = dialog.entity
                migrated_to = getattr(entity, "migrated_to", None)  # a Chat upgraded to a supergroup
                found.append(
                    RemoteDialog(
                        peer_id=utils.get_peer_id(entity),
                        kind=_kind(entity),
                        title=storable(dialog.name, 300) or str(dialog.id),
                        username=(getattr(entity, "username", None) or "")[:64],
                        top_message_id=dialog.message.id if dialog.message else 0,
                        last_date=dialog.date,
                        entity=entity,
                        migrated_to=utils.get_peer_id(migrated_to) if migrated_to is not None else None,
                    )
                )
            return found

        return self._run(collect())

    async def fetch(
        self, dialog: RemoteDialog, *, offset_id: int = 0, min_id: int = 0, reverse: bool = False, size: int = 100
    ) -> Chunk:
        """One messages.getHistory request; await it on this connection's loop.

        Newest first below ``offset_id`` (0: from the top), or with ``reverse`` oldest first above
        ``min_id``: the same requests iter_messages() makes, without its per-message bookkeeping
        (the archive needs the rows only). ``exhausted`` follows iter_messages' rule too: an answer
        with everything, an empty one, or going back, one that reached the first ids. Errors come
        back in the chunk (FloodWait carries its seconds), so that several fetches run side by side.
        """
        request = functions.messages.GetHistoryRequest(
            peer=dialog.input_peer,
            offset_id=min_id + 1 if reverse else offset_id,
            offset_date=None,
            add_offset=-size if reverse else 0,
            limit=size,
            max_id=0,
            min_id=0,
            hash=0,
        )
        try:
            answer = await self.requester(request)
        except Exception as exc:  # noqa: BLE001 - translated; the caller decides (sleep and retry, skip, or fail)
            return Chunk([], exhausted=False, error=dialog_refusal(exc) or app_errors.translate(exc))
        names = display_names(answer.users, answer.chats)
        found = [m for m in answer.messages if isinstance(m, (types.Message, types.MessageService))]
        if reverse:
            found = [m for m in reversed(found) if m.id > min_id]
        elif offset_id:
            found = [m for m in found if m.id < offset_id]
        exhausted = (
            isinstance(answer, types.messages.Messages)
            or not answer.messages
            or (not reverse and answer.messages[0].id <= size)
        )
        return Chunk(
            [to_archived(m, names) for m in found],
            exhausted=exhausted,
            total=getattr(answer, "count", len(answer.messages)),
            # The upgrade is a supergroup's first message: only a chunk that reached the start can hold it.
            migrated_from=_migrated_from(found) if exhausted and not reverse else None,
        )

    def media(self, dialog: RemoteDialog, message_ids: list[int]) -> dict[int, telegram_media.RemoteMedia]:
        """The files of these messages, read again by id (fresh file references), by message id.

        DialogRefused when Telegram refuses the dialog itself (left, banned, private): its files are out of reach.
        """
        try:
            return self._run(telegram_media.fetch(self.requester, dialog.entity, message_ids))
        except app_errors.TelegramError as error:
            refused = dialog_refusal(error.__cause__) if error.__cause__ is not None else None
            raise (refused or error) from error.__cause__
