"""Seeded chats and bulk message histories, generated deterministically and inserted in bulk.

Every message is a pure function of (dialog kind, position in the dialog, id, date), so seeding is
repeatable and 100k rows go in with one executemany. Non-channel chats share one message-id
sequence per account (as on Telegram); each channel numbers its own messages from 1.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from sessions_app.telegram.fake.accounts import DEMO_ACCOUNTS, DemoAccount
from sessions_app.telegram.fake.entities import (
    BROADCAST,
    CHANNEL_KINDS,
    CHAT,
    FORBIDDEN,
    FORUM,
    FROZEN_KINDS,
    MEGAGROUP,
    MIGRATED,
    USER,
    marked,
)

BASE_DATE = 1_640_995_200  # 2022-01-01 UTC: seeded history lies in the past whatever the clock says
STEP = 47  # seconds between two messages of one dialog
INITIAL_MESSAGES = 24
KIND_TEXT, KIND_PHOTO, KIND_DOCUMENT, KIND_SERVICE = 0, 1, 2, 3
KIND_SHARED_DOCUMENT = 4  # one file of the account, forwarded to several chats (same file id)
TOPICS = ("Announcements", "Help", "Off-topic")
_WORDS = (
    "morning",
    "update",
    "invoice",
    "meeting",
    "photos",
    "deploy",
    "coffee",
    "weekend",
    "release",
    "draft",
    "lunch",
    "report",
    "budget",
    "ticket",
    "notes",
    "travel",
    "backup",
    "review",
    "launch",
    "question",
)
_EXTRA_KINDS = (USER, BROADCAST, MEGAGROUP, CHAT)
# Cy's account also shows what real accounts meet in their dialogs: a channel it was removed from
# and a basic group upgraded to a supergroup, with history on both sides.
REAL_WORLD_PHONE = "9996611003"
MIGRATED_OLD_MESSAGES, MIGRATED_NEW_MESSAGES = 6, 5


def _index(account: DemoAccount) -> int:
    return next(i for i, a in enumerate(DEMO_ACCOUNTS) if a.user_id == account.user_id)


def _cast(account: DemoAccount) -> tuple[int, int]:
    """The account's contact and the third member of its groups (bare user ids)."""
    base = 7_200_000_000 + _index(account) * 10
    return base + 1, base + 2


def _insert_peer(
    db: sqlite3.Connection,
    owner: int,
    kind: str,
    bare_id: int,
    title: str,
    last_name: str = "",
    username: str = "",
    date: int = BASE_DATE,
) -> int:
    peer = marked(kind, bare_id)
    db.execute(
        "INSERT OR IGNORE INTO peers (owner, peer, kind, title, last_name, username, date) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (owner, peer, kind, title, last_name, username, date),
    )
    return peer


def _add_dialog(db: sqlite3.Connection, owner: int, peer: int, position: int, *, pinned: bool, created: int) -> None:
    db.execute(
        "INSERT INTO dialogs (owner, peer, position, pinned, last_date) VALUES (?, ?, ?, ?, ?)",
        (owner, peer, position, int(pinned), created),
    )


def seed_account(db: sqlite3.Connection, account: DemoAccount) -> None:
    """The four chats every demo account starts with: a contact, a group, a channel and a forum."""
    owner, a = account.user_id, _index(account)
    contact, member = _cast(account)
    _insert_peer(db, owner, USER, owner, account.first_name, account.last_name, account.username)
    _insert_peer(db, owner, USER, member, "Eli", "Member")
    created = BASE_DATE + a * 3600
    peers = [
        _insert_peer(db, owner, USER, contact, "Dana", "Contact", f"dana_contact_{a}"),
        _insert_peer(db, owner, CHAT, 4_100_000 + a, "Demo Family", date=created),
        _insert_peer(
            db, owner, BROADCAST, 1_900_000_000 + a * 10 + 1, "Demo News", username=f"demo_news_{a}", date=created
        ),
        _insert_peer(db, owner, FORUM, 1_900_000_000 + a * 10 + 2, "Demo Forum", date=created),
    ]
    for position, peer in enumerate(peers):
        _add_dialog(db, owner, peer, position, pinned=position == 0, created=created + position * 3 * 86400)
    seed_messages(db, account, per_dialog=INITIAL_MESSAGES, dialogs=None)
    if account.phone == REAL_WORLD_PHONE:
        seed_real_world(db, account, position=len(peers))


def seed_real_world(db: sqlite3.Connection, account: DemoAccount, *, position: int) -> None:
    """A forbidden channel and an upgraded group in the account's dialogs (idempotent per account)."""
    owner, a = account.user_id, _index(account)
    created = BASE_DATE + a * 3600
    forbidden = _insert_peer(db, owner, FORBIDDEN, 1_900_000_000 + a * 10 + 3, "Demo Gone Private", date=created)
    if db.execute("SELECT 1 FROM dialogs WHERE owner = ? AND peer = ?", (owner, forbidden)).fetchone():
        return
    _add_dialog(db, owner, forbidden, position, pinned=False, created=created)
    old_bare, new_bare = 4_300_000 + a, 1_900_000_000 + a * 10 + 4
    old, new = marked(MIGRATED, old_bare), marked(MEGAGROUP, new_bare)
    _insert_peer(db, owner, MIGRATED, old_bare, "Demo Club", last_name=str(new), date=created)
    _insert_peer(db, owner, MEGAGROUP, new_bare, "Demo Club", last_name=str(old), date=created)
    first_old = int(db.execute("SELECT next_msg_id FROM accounts WHERE user_id = ?", (owner,)).fetchone()[0])
    contact, member = _cast(account)
    rows, date = [], created + 86400
    for k in range(MIGRATED_OLD_MESSAGES):  # chat_create, texts, then messageActionChatMigrateTo
        last = k == MIGRATED_OLD_MESSAGES - 1
        action = "chat_create" if k == 0 else f"migrate_to:{new_bare}" if last else ""
        text = "" if action else f"Club before the upgrade #{k}"
        sender = (owner, contact, member)[k % 3]
        rows.append((owner, old, first_old + k, date + k * STEP, KIND_SERVICE if action else KIND_TEXT, sender,
                     int(sender == owner), text, 0, 0, 0, 0, 0, 0, action))  # fmt: skip
    date += MIGRATED_OLD_MESSAGES * STEP
    for k in range(MIGRATED_NEW_MESSAGES):  # messageActionChannelMigrateFrom, then texts; ids from 1
        action = f"migrate_from:{old_bare}" if k == 0 else ""
        text = "" if action else f"Club after the upgrade #{k}"
        sender = (owner, contact, member)[k % 3]
        rows.append((owner, new, 1 + k, date + k * STEP, KIND_SERVICE if action else KIND_TEXT, sender,
                     int(sender == owner), text, 0, 0, 0, 0, 0, 0, action))  # fmt: skip
    db.executemany(
        "INSERT INTO messages (owner, peer, id, date, kind, from_peer, out, text, reply_to, topic, fwd_peer,"
        " edit_date, views, grouped_id, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    old_top, new_top = rows[MIGRATED_OLD_MESSAGES - 1], rows[-1]
    db.execute(
        "INSERT INTO dialogs (owner, peer, position, pinned, top_id, top_date, count, next_id, last_date)"
        " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?), (?, ?, ?, 0, ?, ?, ?, ?, ?)",
        (owner, old, 10_000, old_top[2], old_top[3], MIGRATED_OLD_MESSAGES, 1, old_top[3],
         owner, new, position + 1, new_top[2], new_top[3], MIGRATED_NEW_MESSAGES, new_top[2] + 1, new_top[3]),
    )  # fmt: skip
    db.execute("UPDATE accounts SET next_msg_id = ? WHERE user_id = ?", (first_old + MIGRATED_OLD_MESSAGES, owner))


def _ensure_dialogs(db: sqlite3.Connection, account: DemoAccount, wanted: int) -> None:
    owner, a = account.user_id, _index(account)
    have = db.execute(
        "SELECT COUNT(*) FROM dialogs WHERE owner = ? AND peer NOT IN"
        " (SELECT peer FROM peers WHERE owner = ? AND kind = ?)",
        (owner, owner, MIGRATED),
    ).fetchone()[0]
    for position in range(have, wanted):
        kind = _EXTRA_KINDS[position % len(_EXTRA_KINDS)]
        bare_id = {USER: 7_300_000_000, CHAT: 4_200_000, BROADCAST: 1_950_000_000, MEGAGROUP: 1_950_000_000}[kind]
        bare_id += a * 1_000_000 + position
        created = BASE_DATE + a * 3600 + position * 600
        if kind == USER:
            peer = _insert_peer(db, owner, USER, bare_id, f"Extra {position}", "Demo", date=created)
        else:
            peer = _insert_peer(db, owner, kind, bare_id, f"Extra {kind} {position}", date=created)
        _add_dialog(db, owner, peer, position, pinned=False, created=created)
        _append(
            db, account, db.execute("SELECT * FROM dialogs WHERE owner = ? AND peer = ?", (owner, peer)).fetchone(), 1
        )


def seed_messages(db: sqlite3.Connection, account: DemoAccount, *, per_dialog: int, dialogs: int | None) -> None:
    if dialogs is not None:
        _ensure_dialogs(db, account, dialogs)
    rows = db.execute(
        "SELECT * FROM dialogs WHERE owner = ? AND peer NOT IN (SELECT peer FROM peers WHERE owner = ? AND kind = ?)"
        " ORDER BY position LIMIT ?",
        (account.user_id, account.user_id, MIGRATED, -1 if dialogs is None else dialogs),
    ).fetchall()
    for dialog in rows:
        frozen = db.execute(
            "SELECT 1 FROM peers WHERE owner = ? AND peer = ? AND kind IN (?, ?)",
            (account.user_id, dialog["peer"], *FROZEN_KINDS),
        ).fetchone()
        if per_dialog > 0 and not frozen:
            _append(db, account, dialog, per_dialog)


def _append(db: sqlite3.Connection, account: DemoAccount, dialog: sqlite3.Row, count: int) -> None:
    owner, peer = account.user_id, int(dialog["peer"])
    kind = db.execute("SELECT kind FROM peers WHERE owner = ? AND peer = ?", (owner, peer)).fetchone()["kind"]
    in_channel = kind in CHANNEL_KINDS
    if in_channel:
        first_id = int(dialog["next_id"])
    else:
        first_id = int(db.execute("SELECT next_msg_id FROM accounts WHERE user_id = ?", (owner,)).fetchone()[0])
    db.executemany(
        "INSERT INTO messages (owner, peer, id, date, kind, from_peer, out, text, reply_to, topic, fwd_peer,"
        " edit_date, views, grouped_id, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _generate(
            account,
            kind,
            peer,
            start=int(dialog["count"]),
            first_id=first_id,
            count=count,
            last_date=int(dialog["last_date"]),
        ),
    )
    last_id, last_date = first_id + count - 1, int(dialog["last_date"]) + count * STEP
    db.execute(
        "UPDATE dialogs SET top_id = ?, top_date = ?, last_date = ?, count = count + ?, next_id = ?"
        " WHERE owner = ? AND peer = ?",
        (last_id, last_date, last_date, count, last_id + 1 if in_channel else dialog["next_id"], owner, peer),
    )
    if not in_channel:
        db.execute("UPDATE accounts SET next_msg_id = ? WHERE user_id = ?", (last_id + 1, owner))


def _generate(
    account: DemoAccount, kind: str, peer: int, *, start: int, first_id: int, count: int, last_date: int
) -> Iterator[tuple]:
    owner = account.user_id
    contact, member = _cast(account)
    senders = (owner, contact, member)
    news = marked(BROADCAST, 1_900_000_000 + _index(account) * 10 + 1)
    words = _WORDS
    n_words = len(words)
    salt = abs(peer) % 11  # so that two chats do not read the same
    for k in range(count):
        i, mid, date = start + k, first_id + k, last_date + (k + 1) * STEP
        kind_code, reply_to, topic, fwd, edit_date, views, grouped, action = KIND_TEXT, 0, 0, 0, 0, 0, 0, ""
        if kind == USER:
            out = int(i % 3 == 0)
            sender = owner if out else peer
        elif kind == BROADCAST:
            out, sender, views = 0, 0, 100 + (i * 37) % 5000
        else:
            sender = senders[i % 3]
            out = int(sender == owner)
        text = f"{words[(i + salt) % n_words].capitalize()} {words[(i * 7 + salt) % n_words]} {words[(i * 13 + 5) % n_words]} #{i}"

        if i == 0 and kind != USER:
            kind_code, text = KIND_SERVICE, ""
            action = "chat_create" if kind == CHAT else "channel_create"
            sender = 0 if kind == BROADCAST else owner
            out = int(sender == owner)
        elif kind == FORUM and 1 <= i <= len(TOPICS):
            kind_code, text, action = KIND_SERVICE, "", f"topic_create:{TOPICS[i - 1]}"
        elif i % 97 == 50 and k > 0:
            kind_code, text, action, reply_to = KIND_SERVICE, "", "pin", mid - 1
        elif i % 23 in (10, 11, 12):
            kind_code, grouped = KIND_PHOTO, (abs(peer) * 1_000_003 + i // 23) % (2**62) + 1
            text = text if i % 23 == 10 else ""
        elif i % 7 == 3:
            kind_code = KIND_PHOTO
        elif i % 11 == 5:
            kind_code = KIND_SHARED_DOCUMENT if (i // 11) % 2 else KIND_DOCUMENT
        elif i % 13 == 6 and kind != BROADCAST:
            fwd = news
        elif i % 5 == 2 and k > 0 and kind != FORUM:
            reply_to = mid - 1
        if kind_code != KIND_SERVICE and i % 17 == 4:
            edit_date = date + 120
        if kind == FORUM and i > len(TOPICS) and kind_code != KIND_SERVICE:
            topic = 1 + i % (len(TOPICS) + 1)  # 1 is "General": messages there carry no topic header
        yield (
            owner,
            peer,
            mid,
            date,
            kind_code,
            sender,
            out,
            text,
            reply_to,
            topic,
            fwd,
            edit_date,
            views,
            grouped,
            action,
        )
