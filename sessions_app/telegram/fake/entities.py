"""Users, groups and channels as TL objects, and the access hashes that prove a client was shown them.

Peers are stored per owner under Telethon's marked ids (user: id, basic group: -id, channel:
-100<id>), so one integer column identifies any peer.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable

from telethon import utils
from telethon.tl import types

from sessions_app.telegram.fake.accounts import DemoAccount, account_by_id
from sessions_app.telegram.fake.rpc import Rpc, dt

USER, CHAT, BROADCAST, MEGAGROUP, FORUM = "user", "chat", "broadcast", "megagroup", "forum"
# A channel the account was removed from (channelForbidden; its history answers CHANNEL_PRIVATE).
FORBIDDEN = "forbidden"
# A basic group upgraded to a supergroup: deactivated, its old messages stay; peers.last_name holds the
# supergroup's marked id (and the supergroup's row the old chat's), the link channelFull/Chat carry.
MIGRATED = "migrated"
FROZEN_KINDS = (FORBIDDEN, MIGRATED)  # no new messages arrive there
CHANNEL_KINDS = (BROADCAST, MEGAGROUP, FORUM, FORBIDDEN)


def access_hash(owner: int, peer_id: int) -> int:
    """Telegram gives each viewer its own access hash for a user or channel; deterministic here."""
    digest = hashlib.sha256(f"demo-access:{owner}:{peer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def marked(kind: str, bare_id: int) -> int:
    if kind == USER:
        return bare_id
    if kind in (CHAT, MIGRATED):
        return -bare_id
    return -(10**12 + bare_id)


def bare(peer: int) -> int:
    bare_id: int = utils.resolve_id(peer)[0]
    return bare_id


def tl_peer(peer: int) -> types.TypePeer:
    bare_id, cls = utils.resolve_id(peer)
    if cls is types.PeerUser:
        return types.PeerUser(bare_id)
    if cls is types.PeerChat:
        return types.PeerChat(bare_id)
    return types.PeerChannel(bare_id)


def self_user(account: DemoAccount) -> types.User:
    return types.User(
        id=account.user_id,
        is_self=True,
        access_hash=access_hash(account.user_id, account.user_id),
        first_name=account.first_name,
        last_name=account.last_name,
        username=account.username,
        phone=account.phone,
        status=types.UserStatusRecently(),
    )


def peer_object(owner: int, row: sqlite3.Row) -> types.TypeUser | types.TypeChat:
    """The User, Chat or Channel object for one row of the peers table, as ``owner`` sees it."""
    kind, peer = row["kind"], int(row["peer"])
    bare_id = bare(peer)
    if kind == USER:
        account = account_by_id(bare_id)
        if account is not None and bare_id == owner:
            return self_user(account)
        return types.User(
            id=bare_id,
            access_hash=access_hash(owner, bare_id),
            first_name=row["title"],
            last_name=row["last_name"] or None,
            username=row["username"] or None,
            contact=True,
            status=types.UserStatusRecently(),
        )
    if kind == FORBIDDEN:
        return types.ChannelForbidden(
            id=bare_id, access_hash=access_hash(owner, bare_id), title=row["title"], broadcast=True
        )
    if kind == MIGRATED:
        channel = bare(int(row["last_name"]))
        return types.Chat(
            id=bare_id,
            title=row["title"],
            photo=types.ChatPhotoEmpty(),
            participants_count=3,
            date=dt(row["date"]),
            version=2,
            deactivated=True,
            migrated_to=types.InputChannel(channel, access_hash(owner, channel)),
        )
    if kind == CHAT:
        return types.Chat(
            id=bare_id,
            title=row["title"],
            photo=types.ChatPhotoEmpty(),
            participants_count=3,
            date=dt(row["date"]),
            version=1,
        )
    return types.Channel(
        id=bare_id,
        title=row["title"],
        photo=types.ChatPhotoEmpty(),
        date=dt(row["date"]),
        access_hash=access_hash(owner, bare_id),
        username=row["username"] or None,
        broadcast=kind == BROADCAST or None,
        megagroup=kind in (MEGAGROUP, FORUM) or None,
        forum=kind == FORUM or None,
        participants_count=3 if kind != BROADCAST else 1200,
    )


def load_peers(db: sqlite3.Connection, owner: int, peers: Iterable[int]) -> tuple[list, list]:
    """(users, chats) for the given marked peer ids, to ship alongside messages or dialogs."""
    wanted = sorted({int(p) for p in peers if p})
    users: list = []
    chats: list = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT * FROM peers WHERE owner = ? AND peer IN ({marks})", (owner, *chunk)):  # noqa: S608
            obj = peer_object(owner, row)
            (users if row["kind"] == USER else chats).append(obj)
    return users, chats


def resolve_input_peer(db: sqlite3.Connection, owner: int, peer: types.TypeInputPeer) -> sqlite3.Row:
    """The peers row an InputPeer names, checking the access hash like Telegram does."""
    if isinstance(peer, types.InputPeerSelf):
        marked_id, given_hash = owner, None
    elif isinstance(peer, types.InputPeerUser):
        marked_id, given_hash = peer.user_id, peer.access_hash
    elif isinstance(peer, types.InputPeerChat):
        marked_id, given_hash = -peer.chat_id, None
    elif isinstance(peer, types.InputPeerChannel):
        marked_id, given_hash = marked(BROADCAST, peer.channel_id), peer.access_hash
    else:
        raise Rpc(400, "PEER_ID_INVALID")
    row: sqlite3.Row | None = db.execute(
        "SELECT * FROM peers WHERE owner = ? AND peer = ?", (owner, marked_id)
    ).fetchone()
    is_channel = isinstance(peer, types.InputPeerChannel)
    if row is None:
        raise Rpc(400, "CHANNEL_PRIVATE" if is_channel else "PEER_ID_INVALID")
    if given_hash is not None and marked_id != owner and given_hash != access_hash(owner, bare(marked_id)):
        raise Rpc(400, "CHANNEL_INVALID" if is_channel else "PEER_ID_INVALID")
    return row
