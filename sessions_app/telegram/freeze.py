"""A frozen account as help.getAppConfig describes it: since when, until when, and where to appeal.

Telegram freezes accounts it suspects of abuse: their sessions stay signed in and may read, but
the methods that act answer 420 FROZEN_METHOD_INVALID. The client configuration
(help.getAppConfig) then carries ``freeze_since_date``, ``freeze_until_date`` (when the account is
deleted unless an appeal succeeds) and ``freeze_appeal_url``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from telethon import TelegramClient, errors, functions, types

from sessions_app.telegram import errors as app_errors


@dataclass(frozen=True)
class AccountFreeze:
    """help.getAppConfig's freeze_since_date / freeze_until_date / freeze_appeal_url."""

    since: datetime.datetime | None
    until: datetime.datetime | None
    appeal_url: str  # "" when Telegram gives none


def _json_value(value: types.TypeJSONValue) -> Any:
    if isinstance(value, types.JsonObject):
        return {item.key: _json_value(item.value) for item in value.value}
    if isinstance(value, types.JsonArray):
        return [_json_value(item) for item in value.value]
    if isinstance(value, types.JsonNull):
        return None
    return value.value  # JsonBool, JsonNumber, JsonString


def _timestamp(value: Any) -> datetime.datetime | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    return datetime.datetime.fromtimestamp(int(value), tz=datetime.UTC)


def freeze_of(config: types.help.TypeAppConfig) -> AccountFreeze | None:
    """The freeze help.getAppConfig reports (freeze_since_date / _until_date / _appeal_url); None when none."""
    if not isinstance(config, types.help.AppConfig):
        return None  # appConfigNotModified: nothing new (fetch_freeze always asks with hash 0)
    values = _json_value(config.config)
    if not isinstance(values, dict) or not values.get("freeze_since_date"):
        return None
    appeal_url = values.get("freeze_appeal_url")
    return AccountFreeze(
        since=_timestamp(values.get("freeze_since_date")),
        until=_timestamp(values.get("freeze_until_date")),
        appeal_url=appeal_url if isinstance(appeal_url, str) else "",
    )


async def fetch_freeze(client: TelegramClient) -> AccountFreeze | None:
    """help.getAppConfig (one request): the account's freeze, None when it is not frozen."""
    return freeze_of(await client(functions.help.GetAppConfigRequest(hash=0)))


async def frozen_error(client: TelegramClient) -> app_errors.AccountFrozen:
    """The AccountFrozen to raise after a request answered FROZEN_METHOD_INVALID: with the appeal link
    and the end date when help.getAppConfig (one more request, on the same client) tells them."""
    try:
        freeze = await fetch_freeze(client)
    except errors.RPCError:
        freeze = None  # the details are a courtesy; the freeze itself is what the caller must hear
    if freeze is None:
        return app_errors.AccountFrozen()
    return app_errors.AccountFrozen(appeal_url=freeze.appeal_url, until=freeze.until)
