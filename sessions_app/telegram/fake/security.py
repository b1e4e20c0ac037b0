"""What Telegram does to an account as a whole: bans, deletions, freezes, and where its sessions are seen from.

* A banned account (USER_DEACTIVATED_BAN) or a deleted one (USER_DEACTIVATED) answers 401 to every
  request of every key signed in to it, except the connection-level help.getConfig /
  help.getNearestDc that any key may send. The keys are not forgotten: once a ban is lifted they
  work again.
* A frozen account stays signed in and may still read, but the methods that act answer
  420 FROZEN_METHOD_INVALID (https://core.telegram.org/api/errors: "The current account is
  frozen, and thus cannot execute the specified action"). help.getAppConfig then carries
  ``freeze_since_date``, ``freeze_until_date`` (when the account is deleted unless an appeal
  succeeds) and ``freeze_appeal_url``. Which methods a frozen account may use Telegram does not
  list in full; the demo allows the reads below and refuses the rest to a signed-in key,
  account.getPassword included (a login waiting for its password may still finish).
* The country an authorization shows comes from its IP: a geo table (``ip_countries``) filled by
  the knobs, "Demoland" for any IP it does not know.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Any

from telethon.tl import functions, types

from sessions_app.telegram.fake.accounts import COUNTRY
from sessions_app.telegram.fake.rpc import Call, Rpc, handles

BANNED = "USER_DEACTIVATED_BAN"
DELETED = "USER_DEACTIVATED"

# Any key may send these, whatever became of its account: they set up the connection.
ALWAYS_ALLOWED = frozenset({"help.getConfig", "help.getNearestDc", "ping"})

# What a frozen account may still do: read, look at its own sessions, log out, learn why it is frozen.
FROZEN_ALLOWED = ALWAYS_ALLOWED | {
    "help.getAppConfig",
    "users.getUsers",
    "users.getFullUser",
    "updates.getState",
    "updates.getDifference",
    "updates.getChannelDifference",
    "messages.getDialogs",
    "messages.getHistory",
    "messages.getMessages",
    "messages.search",
    "messages.getChats",
    "messages.getForumTopics",
    "channels.getMessages",
    "channels.getChannels",
    "channels.getFullChannel",
    "upload.getFile",
    "account.initTakeoutSession",  # exporting one's own data is reading it
    "account.finishTakeoutSession",
    "account.getAuthorizations",
    "account.resetAuthorization",
    "auth.resetAuthorizations",
    "auth.logOut",
}

# Official Telegram apps' API ids: their sessions show official_app in "Active sessions".
OFFICIAL_API_IDS = frozenset({4, 5, 6, 8, 9, 2040, 2496, 10840, 21724})

# What every account's help.getAppConfig says apart from a freeze (a tiny part of Telegram's).
BASE_APP_CONFIG: dict[str, Any] = {"test": 1, "emojies_send_dice": ["🎲", "🎯"], "reactions_uniq_max": 11}


def account_state(db: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(
        "SELECT deactivated, frozen_since, frozen_until, frozen_appeal FROM accounts WHERE user_id = ?", (user_id,)
    ).fetchone()
    return row


def deactivation(row: sqlite3.Row | None, now: float) -> str:
    """USER_DEACTIVATED_BAN / USER_DEACTIVATED when the account is banned or deleted, else ""."""
    if row is None:
        return ""
    if row["deactivated"]:
        return str(row["deactivated"])
    # A freeze that ran out without a successful appeal ends with the account deleted.
    if row["frozen_since"] is not None and row["frozen_until"] is not None and now >= row["frozen_until"]:
        return DELETED
    return ""


def check(call: Call, name: str) -> None:
    """Refuse ``name`` as Telegram would for a banned, deleted or frozen account (no-op otherwise)."""
    if name in ALWAYS_ALLOWED:
        return
    owner = call.key["user_id"] if call.key["user_id"] is not None else call.key["pending_user_id"]
    if owner is None:
        return
    row = account_state(call.db, int(owner))
    if answer := deactivation(row, call.now):
        raise Rpc(401, answer)
    # A login still waiting for its 2FA password may finish (account.getPassword, auth.checkPassword).
    signed_in = call.key["user_id"] is not None
    if row is not None and row["frozen_since"] is not None and signed_in and name not in FROZEN_ALLOWED:
        raise Rpc(420, "FROZEN_METHOD_INVALID")


def login_refusal(db: sqlite3.Connection, phone: str) -> str:
    """What auth.sendCode answers for the number of a banned account ("" when it may log in)."""
    row = db.execute("SELECT deactivated FROM accounts WHERE phone = ?", (phone,)).fetchone()
    return "PHONE_NUMBER_BANNED" if row is not None and row["deactivated"] == BANNED else ""


def country_of(db: sqlite3.Connection, ip: str) -> str:
    """The country Telegram's geo lookup gives for ``ip`` (what "Active sessions" shows)."""
    row = db.execute("SELECT country FROM ip_countries WHERE ip = ?", (ip,)).fetchone()
    return str(row["country"]) if row is not None else COUNTRY


def place(db: sqlite3.Connection, ip: str, country: str) -> None:
    """Teach the geo table where ``ip`` is."""
    db.execute("INSERT OR REPLACE INTO ip_countries (ip, country) VALUES (?, ?)", (ip, country))


# -- help.getAppConfig ---------------------------------------------------------------------------


def app_config_values(call: Call) -> dict[str, Any]:
    values = dict(BASE_APP_CONFIG)
    if call.user_id is None:
        return values
    row = account_state(call.db, call.user_id)
    if row is not None and row["frozen_since"] is not None:
        values["freeze_since_date"] = int(row["frozen_since"])
        if row["frozen_until"] is not None:
            values["freeze_until_date"] = int(row["frozen_until"])
        if row["frozen_appeal"]:
            values["freeze_appeal_url"] = str(row["frozen_appeal"])
    return values


def to_json(value: Any) -> types.TypeJSONValue:
    if isinstance(value, bool):
        return types.JsonBool(value=value)
    if isinstance(value, (int, float)):
        return types.JsonNumber(value=float(value))
    if isinstance(value, str):
        return types.JsonString(value=value)
    if isinstance(value, list):
        return types.JsonArray(value=[to_json(item) for item in value])
    if isinstance(value, dict):
        return types.JsonObject(value=[types.JsonObjectValue(key=k, value=to_json(v)) for k, v in value.items()])
    return types.JsonNull()


def config_hash(values: dict[str, Any]) -> int:
    """A 32-bit signed hash of the config, as the app caches it between calls."""
    digest = zlib.crc32(json.dumps(values, sort_keys=True).encode())
    return digest - 2**32 if digest >= 2**31 else digest


@handles(functions.help.GetAppConfigRequest)
def get_app_config(call: Call, request: functions.help.GetAppConfigRequest) -> types.help.TypeAppConfig:
    """The client configuration; help.appConfigNotModified when the caller's hash is still current."""
    values = app_config_values(call)
    current = config_hash(values)
    if request.hash == current:
        return types.help.AppConfigNotModified()
    return types.help.AppConfig(hash=current, config=to_json(values))
