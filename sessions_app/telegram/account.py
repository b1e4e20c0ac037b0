"""Operations on a logged-in key: who it is, its account's active sessions, terminating, logging out."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from telethon import TelegramClient, errors, functions, types

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.client import ApiCredentials, ClientLabel, run


@dataclass(frozen=True)
class Account:
    """Who a session is logged in as (no secrets)."""

    user_id: int
    name: str
    username: str
    phone: str


def account_of(user: types.User) -> Account:
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or str(user.id)
    return Account(user_id=user.id, name=name, username=user.username or "", phone=user.phone or "")


def get_me(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> Account:
    """Who the session is logged in as; SessionRevoked/NotAuthorized/SessionMalformed when it is not usable."""
    if not session:
        raise app_errors.SessionMalformed()

    async def op(client: TelegramClient) -> Account:
        me = await client.get_me()
        if not isinstance(me, types.User):
            raise app_errors.NotAuthorized()
        return account_of(me)

    account, _ = run(session, api, op, label)
    return account


def log_out(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> bool:
    """auth.logOut; True when Telegram confirmed, also True when the key was already unregistered."""

    async def op(client: TelegramClient) -> bool:
        try:
            await client(functions.auth.LogOutRequest())
        except (errors.AuthKeyUnregisteredError, errors.SessionRevokedError, errors.AuthKeyNotFound):
            return True
        return True

    try:
        result, _ = run(session, api, op, label)
    except app_errors.SessionRevoked:
        return True
    return result


@dataclass(frozen=True)
class Authorization:
    """One active session of the account (account.getAuthorizations), without secrets."""

    hash: int  # 64-bit and signed: keep as int / decimal string, never a float
    current: bool
    device_model: str
    platform: str
    system_version: str
    app_name: str
    app_version: str
    ip: str
    country: str
    region: str
    date_created: datetime.datetime | None
    date_active: datetime.datetime | None
    official_app: bool
    unconfirmed: bool = False  # logged in by login token, not yet confirmed from another session ("Is this you?")
    password_pending: bool = False  # the code or token was accepted; the 2FA password has not been given yet


def authorization_of(item: types.Authorization) -> Authorization:
    return Authorization(
        hash=item.hash,
        current=bool(item.current),
        device_model=item.device_model,
        platform=item.platform,
        system_version=item.system_version,
        app_name=item.app_name,
        app_version=item.app_version,
        ip=item.ip,
        country=item.country,
        region=item.region,
        date_created=item.date_created,
        date_active=item.date_active,
        official_app=bool(item.official_app),
        unconfirmed=bool(getattr(item, "unconfirmed", False)),
        password_pending=bool(getattr(item, "password_pending", False)),
    )


async def fetch_authorizations(client: TelegramClient) -> list[Authorization]:
    result = await client(functions.account.GetAuthorizationsRequest())
    return [authorization_of(item) for item in result.authorizations]


def list_authorizations(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> list[Authorization]:
    authorizations, _ = run(session, api, fetch_authorizations, label)
    return authorizations


def terminate_authorization(
    *, session: str, api: ApiCredentials, authorization_hash: int, label: ClientLabel | None = None
) -> None:
    async def op(client: TelegramClient) -> None:
        await client(functions.account.ResetAuthorizationRequest(hash=authorization_hash))

    run(session, api, op, label)


def terminate_other_authorizations(
    *, session: str, api: ApiCredentials, keep: frozenset[int] = frozenset(), label: ClientLabel | None = None
) -> int:
    """End every other authorization of the account except those in `keep`; returns how many ended.

    With nothing to keep this is auth.resetAuthorizations (one request); otherwise each of the
    others is reset on its own, so the hashes in `keep` survive.
    """

    async def op(client: TelegramClient) -> int:
        if not keep:
            others = [item for item in await fetch_authorizations(client) if not item.current]
            await client(functions.auth.ResetAuthorizationsRequest())
            return len(others)
        ended = 0
        for item in await fetch_authorizations(client):
            if item.current or item.hash in keep:
                continue
            try:
                await client(functions.account.ResetAuthorizationRequest(hash=item.hash))
            except errors.HashInvalidError:
                continue  # ended meanwhile
            ended += 1
        return ended

    ended, _ = run(session, api, op, label)
    return ended
