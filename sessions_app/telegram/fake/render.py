"""Stored message rows as Telegram's TL objects, with the users and chats that must travel with them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from telethon.tl import types

from sessions_app.telegram.fake.accounts import account_by_id
from sessions_app.telegram.fake.entities import BROADCAST, USER, load_peers, tl_peer
from sessions_app.telegram.fake.files import message_media, reference_epoch
from sessions_app.telegram.fake.history import KIND_SERVICE
from sessions_app.telegram.fake.rpc import Call, dt


def _action(db: sqlite3.Connection, owner: int, row: sqlite3.Row) -> types.TypeMessageAction:
    code = row["action"]
    title_row = db.execute("SELECT title FROM peers WHERE owner = ? AND peer = ?", (owner, row["peer"])).fetchone()
    title = title_row["title"] if title_row else ""
    if code == "chat_create":
        members = [
            r["peer"] for r in db.execute("SELECT peer FROM peers WHERE owner = ? AND kind = ? LIMIT 3", (owner, USER))
        ]
        return types.MessageActionChatCreate(title=title, users=members)
    if code == "channel_create":
        return types.MessageActionChannelCreate(title=title)
    if code.startswith("topic_create:"):
        return types.MessageActionTopicCreate(title=code.split(":", 1)[1], icon_color=0x6FB9F0)
    if code == "pin":
        return types.MessageActionPinMessage()
    if code.startswith("migrate_to:"):  # the old basic group's last message
        return types.MessageActionChatMigrateTo(channel_id=int(code.split(":", 1)[1]))
    if code.startswith("migrate_from:"):  # the supergroup's first message
        return types.MessageActionChannelMigrateFrom(title=title, chat_id=int(code.split(":", 1)[1]))
    return types.MessageActionEmpty()


def to_message(
    db: sqlite3.Connection, owner: int, row: sqlite3.Row, kind: str, dc: int, epoch: int = 0
) -> types.TypeMessage:
    peer = int(row["peer"])
    from_id = tl_peer(int(row["from_peer"])) if row["from_peer"] else None
    reply_to = None
    if row["topic"] and row["topic"] != 1:
        reply_to = types.MessageReplyHeader(forum_topic=True, reply_to_msg_id=int(row["topic"]))
    elif row["reply_to"]:
        reply_to = types.MessageReplyHeader(reply_to_msg_id=int(row["reply_to"]))
    common = dict(
        id=int(row["id"]),
        peer_id=tl_peer(peer),
        date=dt(row["date"]),
        out=bool(row["out"]) or None,
        from_id=from_id,
        reply_to=reply_to,
        post=kind == BROADCAST or None,
    )
    if row["kind"] == KIND_SERVICE:
        return types.MessageService(action=_action(db, owner, row), **common)
    fwd = None
    if row["fwd_peer"]:
        fwd = types.MessageFwdHeader(
            date=dt(int(row["date"]) - 86400),
            from_id=tl_peer(int(row["fwd_peer"])),
            channel_post=int(row["id"]) % 500 + 1,
        )
    return types.Message(
        message=row["text"],
        media=message_media(owner, row, dc, epoch),
        fwd_from=fwd,
        edit_date=dt(row["edit_date"]) if row["edit_date"] else None,
        views=int(row["views"]) if kind == BROADCAST else None,
        forwards=0 if kind == BROADCAST else None,
        grouped_id=int(row["grouped_id"]) or None,
        **common,
    )


def _referenced(rows: Iterable[sqlite3.Row]) -> set[int]:
    found: set[int] = set()
    for row in rows:
        found.update(p for p in (row["peer"], row["from_peer"], row["fwd_peer"]) if p)
    return found


def bundle(
    call: Call, owner: int, rows: list[sqlite3.Row], extra_peers: Iterable[int] = ()
) -> tuple[list[types.TypeMessage], list[types.TypeUser], list[types.TypeChat]]:
    """Messages plus the users and chats they mention, as every messages.* answer carries them."""
    kinds: dict[int, str] = {}
    for peer in {int(row["peer"]) for row in rows}:
        found = call.db.execute("SELECT kind FROM peers WHERE owner = ? AND peer = ?", (owner, peer)).fetchone()
        kinds[peer] = found["kind"] if found else USER
    account = account_by_id(owner)
    dc = account.dc if account else call.dc
    epoch = reference_epoch(call.db)
    messages = [to_message(call.db, owner, row, kinds.get(row["peer"], USER), dc, epoch) for row in rows]
    referenced = _referenced(rows) | set(extra_peers)
    for row in rows:
        if row["action"] == "chat_create":
            referenced.update(
                r["peer"]
                for r in call.db.execute("SELECT peer FROM peers WHERE owner = ? AND kind = ? LIMIT 3", (owner, USER))
            )
    users, chats = load_peers(call.db, owner, referenced)
    return messages, users, chats
