"""The server side of one request: the context a handler sees, the errors it answers, the routing table."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telethon.tl.tlobject import TLObject, TLRequest


class Rpc(Exception):
    """An RPC error answer, e.g. ``Rpc(420, "FLOOD_WAIT_30")``; the sender turns it into Telethon's error."""

    commit_anyway = True

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


class UnknownAuthKey(Exception):
    """The DC never issued this auth key (Telegram answers with a -404 transport error)."""


def unauthorized() -> Rpc:
    return Rpc(401, "AUTH_KEY_UNREGISTERED")


def method_name(request: TLObject) -> str:
    """Telegram's name for a request class: ``GetHistoryRequest`` in ``functions.messages`` -> ``messages.getHistory``."""
    name = type(request).__name__.removesuffix("Request")
    name = name[:1].lower() + name[1:]
    namespace = type(request).__module__.rsplit(".", 1)[-1]
    return name if namespace == "functions" else f"{namespace}.{name}"


def dt(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)


def ts(value: datetime.datetime | int | float | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


@dataclass
class Call:
    """One request as the DC sees it: who sent it (the auth key row), when, inside which transaction."""

    db: sqlite3.Connection
    now: float
    dc: int
    key: sqlite3.Row
    takeout_id: int | None = None

    @property
    def key_id(self) -> int:
        return int(self.key["key_id"])

    @property
    def user_id(self) -> int | None:
        user_id = self.key["user_id"]
        return None if user_id is None else int(user_id)

    def require_user(self) -> int:
        """The signed-in user, or the 401 Telegram answers on a key that is not (yet) authorized."""
        if self.key["user_id"] is None:
            if self.key["pending_user_id"] is not None:
                raise Rpc(401, "SESSION_PASSWORD_NEEDED")
            if self.key["ended_with"]:
                raise Rpc(401, str(self.key["ended_with"]))
            raise unauthorized()
        return int(self.key["user_id"])


Handler = Callable[[Call, Any], TLObject | bool]
HANDLERS: dict[type[TLRequest], Handler] = {}


def handles(*request_types: type[TLRequest]) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        for request_type in request_types:
            HANDLERS[request_type] = func
        return func

    return register
