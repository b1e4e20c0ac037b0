"""Operations on a logged-in key: who it is, its account's active sessions, terminating, logging out."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from telethon import TelegramClient, errors, functions, types

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.client import ApiCredentials, ClientLabel, run
from sessions_app.telegram.freeze import AccountFreeze as AccountFreeze  # part of this module's interface
from sessions_app.telegram.freeze import fetch_freeze


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
    api_id: int = 0  # the API id of the app that made this authorization (0 in JSON stored before it was kept)


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
        api_id=int(item.api_id or 0),
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


# --- Security watch: the account's authorizations, two-step verification, ban and freeze ---------------


@dataclass(frozen=True)
class AccountSecurity:
    """What account.getPassword says about the account's two-step verification (no secrets)."""

    two_step: bool  # has_password
    recovery_email: bool  # has_recovery
    login_email: str  # login_email_pattern, "" when none
    email_pending: str  # email_unconfirmed_pattern, "" when none
    # pending_reset_date: someone asked account.resetPassword without the password; Telegram removes
    # the password then unless the owner declines it (account.declinePasswordReset). None: no request.
    reset_pending: datetime.datetime | None = None


@dataclass(frozen=True)
class AccountView:
    """One look at the account for a health check."""

    authorizations: list[Authorization]
    security: AccountSecurity | None  # None only when Telegram would not say
    freeze: AccountFreeze | None  # set when the account is frozen


def security_of(password: types.account.Password) -> AccountSecurity:
    return AccountSecurity(
        two_step=bool(password.has_password),
        recovery_email=bool(password.has_recovery),
        login_email=password.login_email_pattern or "",
        email_pending=password.email_unconfirmed_pattern or "",
        reset_pending=password.pending_reset_date if password.has_password else None,
    )


async def fetch_account_view(client: TelegramClient) -> AccountView:
    """The account's sessions, its two-step verification, and its freeze, for a health check.

    Two requests in the normal case: account.getAuthorizations and account.getPassword. Only when
    one of them answers that the account is frozen (FROZEN_METHOD_INVALID) a third,
    help.getAppConfig, learns since when, until when and where to appeal. Then:

    * the sessions could be read: the view comes back with ``freeze`` set (and ``security`` None
      when getPassword was the refused one); it does not raise;
    * not even the sessions could be read: raises AccountFrozen with the appeal link and the end
      date, since a view without the sessions would look as if they were all gone.

    Telegram lets a frozen account read, so a freeze that refuses neither request stays unseen
    here (``freeze`` None); operations that act then raise AccountFrozen, and :func:`account_freeze`
    tells the details. A banned or deleted account raises AccountBanned (through :func:`run`).
    """
    frozen = False
    try:
        authorizations: list[Authorization] | None = await fetch_authorizations(client)
    except errors.RPCError as exc:
        if not app_errors.is_frozen_error(exc):
            raise
        authorizations, frozen = None, True
    security: AccountSecurity | None = None
    if not frozen:
        try:
            security = security_of(await client(functions.account.GetPasswordRequest()))
        except errors.RPCError as exc:
            if not app_errors.is_frozen_error(exc):
                raise
            frozen = True
    if not frozen:
        return AccountView(authorizations=authorizations or [], security=security, freeze=None)
    freeze = await fetch_freeze(client) or AccountFreeze(since=None, until=None, appeal_url="")
    if authorizations is None:
        raise app_errors.AccountFrozen(appeal_url=freeze.appeal_url, until=freeze.until)
    return AccountView(authorizations=authorizations, security=security, freeze=freeze)


def account_view(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> AccountView:
    """fetch_account_view on a fresh client; AccountBanned, AccountFrozen, SessionRevoked, ... as the app's errors."""
    view, _ = run(session, api, fetch_account_view, label)
    return view


def account_freeze(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> AccountFreeze | None:
    """The account's freeze (help.getAppConfig), e.g. after another operation raised AccountFrozen."""
    freeze, _ = run(session, api, fetch_freeze, label)
    return freeze
