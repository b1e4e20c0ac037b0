"""Reading chats: dialogs, history and messages by id, each answered through an index (never a scan)."""

from __future__ import annotations

import sqlite3

from telethon.tl import functions, types

from sessions_app.telegram.fake.entities import (
    BROADCAST,
    CHANNEL_KINDS,
    FORBIDDEN,
    FORUM,
    MEGAGROUP,
    MIGRATED,
    load_peers,
    resolve_input_peer,
    tl_peer,
)
from sessions_app.telegram.fake.history import TOPICS
from sessions_app.telegram.fake.render import bundle
from sessions_app.telegram.fake.rpc import Call, Rpc, dt, handles, ts

MAX_LIMIT = 100
# An upgraded basic group leaves the dialog list (its supergroup's channelFull still names it).
_LISTED = f"owner = ? AND peer NOT IN (SELECT peer FROM peers WHERE owner = dialogs.owner AND kind = '{MIGRATED}')"  # noqa: S608 - a constant


def _dialog_row(call: Call, owner: int, peer: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = call.db.execute(
        "SELECT * FROM dialogs WHERE owner = ? AND peer = ?", (owner, peer)
    ).fetchone()
    return row


@handles(functions.messages.GetDialogsRequest)
def get_dialogs(call: Call, request: functions.messages.GetDialogsRequest) -> types.messages.TypeDialogs:
    owner = call.require_user()
    if request.folder_id:  # nothing is archived in the demo
        return types.messages.Dialogs(dialogs=[], messages=[], chats=[], users=[])
    limit = max(1, min(request.limit or MAX_LIMIT, MAX_LIMIT))
    offset_date = int(ts(request.offset_date))
    offset_peer = None
    if request.offset_peer and not isinstance(request.offset_peer, types.InputPeerEmpty):
        offset_peer = int(resolve_input_peer(call.db, owner, request.offset_peer)["peer"])
    pinned_first = not offset_date and not request.exclude_pinned
    rows: list[sqlite3.Row] = []
    if pinned_first:
        rows = call.db.execute(
            f"SELECT * FROM dialogs WHERE {_LISTED} AND pinned = 1 ORDER BY position LIMIT ?",  # noqa: S608
            (owner, limit),
        ).fetchall()
    where, args = _LISTED, [owner]
    if pinned_first or request.exclude_pinned:
        where += " AND pinned = 0"
    if offset_date:
        if offset_peer is not None:
            where += " AND (top_date, peer) < (?, ?)"
            args += [offset_date, offset_peer]
        else:
            where += " AND top_date < ?"
            args.append(offset_date)
    rows += call.db.execute(
        f"SELECT * FROM dialogs WHERE {where} ORDER BY top_date DESC, peer DESC LIMIT ?",  # noqa: S608
        (*args, limit - len(rows)),
    ).fetchall()
    total = call.db.execute(f"SELECT COUNT(*) FROM dialogs WHERE {_LISTED}", (owner,)).fetchone()[0]  # noqa: S608
    tops = [
        m
        for d in rows
        if d["top_id"]
        for m in call.db.execute(
            "SELECT * FROM messages WHERE owner = ? AND peer = ? AND id = ?",
            (owner, d["peer"], d["top_id"]),
        )
    ]
    messages, users, chats = bundle(call, owner, tops, extra_peers=[d["peer"] for d in rows])
    dialogs = []
    for d in rows:
        peer = int(d["peer"])
        is_channel = peer < -(10**12)  # Telethon's mark for channels: -100<id>
        dialogs.append(
            types.Dialog(
                peer=tl_peer(peer),
                top_message=int(d["top_id"]),
                read_inbox_max_id=int(d["top_id"]),
                read_outbox_max_id=int(d["top_id"]),
                unread_count=0,
                unread_mentions_count=0,
                unread_reactions_count=0,
                unread_poll_votes_count=0,
                notify_settings=types.PeerNotifySettings(),
                pinned=bool(d["pinned"]) or None,
                pts=int(d["top_id"]) if is_channel else None,
            )
        )
    if not offset_date and total <= limit:
        return types.messages.Dialogs(dialogs=dialogs, messages=messages, chats=chats, users=users)
    return types.messages.DialogsSlice(count=total, dialogs=dialogs, messages=messages, chats=chats, users=users)


def _history_rows(
    call: Call, owner: int, peer: int, request: functions.messages.GetHistoryRequest
) -> list[sqlite3.Row]:
    """Telegram's window: start at offset_id (or offset_date), shift by add_offset, take limit, inside (min_id, max_id)."""
    limit = max(0, min(request.limit, MAX_LIMIT))
    low, high = max(request.min_id, 0), request.max_id or 2**62
    upper = request.offset_id
    offset_date = int(ts(request.offset_date))  # 0 on the wire (read back as the epoch) means none
    if not upper and offset_date:
        first = call.db.execute(
            "SELECT id FROM messages WHERE owner = ? AND peer = ? AND date >= ? ORDER BY date, id LIMIT 1",
            (owner, peer, offset_date),
        ).fetchone()
        upper = int(first["id"]) if first else 0
    upper = upper or 2**62

    def older(count: int, skip: int) -> list[sqlite3.Row]:
        if count <= 0:
            return []
        return call.db.execute(
            "SELECT * FROM messages WHERE owner = ? AND peer = ? AND id < ? AND id > ?"
            " ORDER BY id DESC LIMIT ? OFFSET ?",
            (owner, peer, min(upper, high), low, count, skip),
        ).fetchall()

    if request.add_offset >= 0:
        return older(limit, request.add_offset)
    back = -request.add_offset
    newer = call.db.execute(
        "SELECT * FROM messages WHERE owner = ? AND peer = ? AND id >= ? AND id < ? AND id > ? ORDER BY id ASC LIMIT ?",
        (owner, peer, upper, high, low, back),
    ).fetchall()
    kept = newer[max(0, back - limit) :]
    return list(reversed(kept)) + older(limit - back, 0)


@handles(functions.messages.GetHistoryRequest)
def get_history(call: Call, request: functions.messages.GetHistoryRequest) -> types.messages.TypeMessages:
    owner = call.require_user()
    peer_row = resolve_input_peer(call.db, owner, request.peer)
    if peer_row["kind"] == FORBIDDEN:
        raise Rpc(400, "CHANNEL_PRIVATE")
    peer = int(peer_row["peer"])
    dialog = _dialog_row(call, owner, peer)
    rows = _history_rows(call, owner, peer, request) if dialog is not None else []
    messages, users, chats = bundle(call, owner, rows, extra_peers=[peer])
    count = int(dialog["count"]) if dialog is not None else 0
    if peer_row["kind"] in CHANNEL_KINDS:
        return types.messages.ChannelMessages(
            pts=int(dialog["top_id"]) if dialog is not None else 1,
            count=count,
            messages=messages,
            topics=[],
            chats=chats,
            users=users,
        )
    whole = (
        not request.offset_id
        and not int(ts(request.offset_date))
        and not request.add_offset
        and not request.min_id
        and not request.max_id
        and count <= len(rows)
    )
    if whole:
        return types.messages.Messages(messages=messages, topics=[], chats=chats, users=users)
    return types.messages.MessagesSlice(count=count, messages=messages, topics=[], chats=chats, users=users)


def _wanted_ids(ids: list) -> list[int]:
    wanted = []
    for item in ids:
        if isinstance(item, types.InputMessageID):
            wanted.append(int(item.id))
        elif isinstance(item, int):
            wanted.append(item)
        else:
            raise Rpc(400, "MESSAGE_IDS_EMPTY")
    return wanted


def _in_order(
    call: Call, owner: int, wanted: list[int], found: dict[int, sqlite3.Row], peer: int | None = None
) -> tuple[list[types.TypeMessage], list[types.TypeUser], list[types.TypeChat]]:
    rows = [found[i] for i in wanted if i in found]
    messages, users, chats = bundle(call, owner, rows)
    by_id = {m.id: m for m in messages}
    empty_peer = tl_peer(peer) if peer is not None else None
    return [by_id.get(i) or types.MessageEmpty(id=i, peer_id=empty_peer) for i in wanted], users, chats


@handles(functions.messages.GetMessagesRequest)
def get_messages(call: Call, request: functions.messages.GetMessagesRequest) -> types.messages.Messages:
    """By id in the account's own sequence (private chats and basic groups; channels have their own)."""
    owner = call.require_user()
    wanted = _wanted_ids(request.id)
    found: dict[int, sqlite3.Row] = {}
    for mid in wanted:
        row = call.db.execute(
            "SELECT * FROM messages WHERE owner = ? AND id = ? AND peer > ?",
            (owner, mid, -(10**12)),
        ).fetchone()
        if row is not None:
            found[mid] = row
    messages, users, chats = _in_order(call, owner, wanted, found)
    return types.messages.Messages(messages=messages, topics=[], chats=chats, users=users)


@handles(functions.channels.GetMessagesRequest)
def get_channel_messages(call: Call, request: functions.channels.GetMessagesRequest) -> types.messages.TypeMessages:
    owner = call.require_user()
    channel = request.channel
    if not isinstance(channel, types.InputChannel):
        raise Rpc(400, "CHANNEL_INVALID")
    row = resolve_input_peer(call.db, owner, types.InputPeerChannel(channel.channel_id, channel.access_hash))
    peer = int(row["peer"])
    wanted = _wanted_ids(request.id)
    found: dict[int, sqlite3.Row] = {}
    for mid in wanted:
        hit = call.db.execute(
            "SELECT * FROM messages WHERE owner = ? AND peer = ? AND id = ?",
            (owner, peer, mid),
        ).fetchone()
        if hit is not None:
            found[mid] = hit
    messages, users, chats = _in_order(call, owner, wanted, found, peer)
    dialog = _dialog_row(call, owner, peer)
    return types.messages.ChannelMessages(
        pts=int(dialog["top_id"]) if dialog else 1,
        count=int(dialog["count"]) if dialog else 0,
        messages=messages,
        topics=[],
        chats=chats,
        users=users,
    )


@handles(functions.channels.GetChannelsRequest)
def get_channels(call: Call, request: functions.channels.GetChannelsRequest) -> types.messages.Chats:
    owner = call.require_user()
    peers = []
    for channel in request.id:
        if isinstance(channel, types.InputChannel):
            peers.append(
                int(
                    resolve_input_peer(call.db, owner, types.InputPeerChannel(channel.channel_id, channel.access_hash))[
                        "peer"
                    ]
                )
            )
    return types.messages.Chats(chats=load_peers(call.db, owner, peers)[1])


@handles(functions.channels.GetFullChannelRequest)
def get_full_channel(call: Call, request: functions.channels.GetFullChannelRequest) -> types.messages.ChatFull:
    """channelFull, with migrated_from_chat_id/max_id for a supergroup upgraded from a basic group."""
    owner = call.require_user()
    channel = request.channel
    if not isinstance(channel, types.InputChannel):
        raise Rpc(400, "CHANNEL_INVALID")
    row = resolve_input_peer(call.db, owner, types.InputPeerChannel(channel.channel_id, channel.access_hash))
    if row["kind"] == FORBIDDEN:
        raise Rpc(400, "CHANNEL_PRIVATE")
    peer = int(row["peer"])
    dialog = _dialog_row(call, owner, peer)
    top = int(dialog["top_id"]) if dialog is not None else 0
    old = int(row["last_name"]) if row["kind"] == MEGAGROUP and row["last_name"] else None
    old_dialog = _dialog_row(call, owner, old) if old is not None else None
    full = types.ChannelFull(
        id=channel.channel_id,
        about="",
        read_inbox_max_id=top,
        read_outbox_max_id=top,
        unread_count=0,
        chat_photo=types.PhotoEmpty(id=0),
        notify_settings=types.PeerNotifySettings(),
        bot_info=[],
        pts=top or 1,
        participants_count=3 if row["kind"] != BROADCAST else 1200,
        migrated_from_chat_id=-old if old is not None else None,
        migrated_from_max_id=int(old_dialog["top_id"]) if old_dialog is not None else None,
    )
    chats = load_peers(call.db, owner, [peer, *([old] if old is not None else [])])[1]
    return types.messages.ChatFull(full_chat=full, chats=chats, users=[])


@handles(functions.messages.GetChatsRequest)
def get_chats(call: Call, request: functions.messages.GetChatsRequest) -> types.messages.Chats:
    owner = call.require_user()
    return types.messages.Chats(chats=load_peers(call.db, owner, [-int(i) for i in request.id])[1])


@handles(functions.messages.GetForumTopicsRequest)
def get_forum_topics(call: Call, request: functions.messages.GetForumTopicsRequest) -> types.messages.ForumTopics:
    owner = call.require_user()
    row = resolve_input_peer(call.db, owner, request.peer)
    if row["kind"] != FORUM:
        raise Rpc(400, "CHANNEL_FORUM_MISSING")
    peer = int(row["peer"])
    dialog = _dialog_row(call, owner, peer)
    top = int(dialog["top_id"]) if dialog else 0
    topics = [
        types.ForumTopic(
            id=topic_id,
            date=dt(row["date"]),
            peer=tl_peer(peer),
            title=title,
            icon_color=0x6FB9F0,
            top_message=top,
            read_inbox_max_id=top,
            read_outbox_max_id=top,
            unread_count=0,
            unread_mentions_count=0,
            unread_reactions_count=0,
            unread_poll_votes_count=0,
            from_id=types.PeerUser(owner),
            notify_settings=types.PeerNotifySettings(),
        )
        for topic_id, title in [(1, "General"), *((i + 2, t) for i, t in enumerate(TOPICS))]
    ]
    users, chats = load_peers(call.db, owner, [owner, peer])
    return types.messages.ForumTopics(count=len(topics), topics=topics, messages=[], chats=chats, users=users, pts=top)
