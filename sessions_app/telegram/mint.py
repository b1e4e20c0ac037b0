"""Minting the dashboard's own authorization from the connector's key (Telegram's login-token flow).

A key held by a running connector must never be used from here at the same time (Telegram
destroys a key used from two IP addresses at once: AUTH_KEY_DUPLICATED), so the dashboard works on
a key of its own, minted in one short connection:

1. a new client (the dashboard's) calls auth.exportLoginToken;
2. the connector's key accepts that token (auth.acceptLoginToken);
3. the new client calls auth.exportLoginToken again and gets auth.loginTokenSuccess, or
   SESSION_PASSWORD_NEEDED, answered with the password the person has just typed (SRP; the
   password lives in this call only);
4. where Telegram marks the new authorization unconfirmed, the connector's key confirms it
   (account.changeAuthorizationSettings with confirmed);
5. both keys list the account's authorizations: the one only the dashboard sees is the
   connector's, which is how we learn its hash (a caller's own authorization has hash 0).

Before step 2 the connector's key checks the 2FA password (account.getPassword, and
account.getPasswordSettings with the SRP proof), so a missing or wrong password is refused before
any authorization exists. A failure after step 2 logs the half-made key out (or, when it cannot,
the connector's key ends it by hash), so no authorization is left untracked.

Errors are blamed on the key that raised them: a dead connector key is the connector's (the caller
marks the instance), while the new key failing, e.g. AUTH_KEY_UNREGISTERED for a second or two
while a fresh login spreads between data centres (retried first), is MintFailed and never the
connector's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from telethon import TelegramClient, errors, functions, types
from telethon.password import compute_check

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.account import Account, account_of, fetch_authorizations
from sessions_app.telegram.bridge import run_sync
from sessions_app.telegram.client import ApiCredentials, ClientLabel, KeyRole, build_client
from sessions_app.telegram.login import PASSWORD_NEEDED, export_login_token
from sessions_app.telegram.proxy import Proxy

T = TypeVar("T")

# A key minted seconds ago may answer AUTH_KEY_UNREGISTERED while the login propagates between
# data centres: asked again after these pauses (about 5 s in all) before the mint gives up.
NEW_KEY_RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0)


@dataclass(frozen=True)
class Minted:
    """The dashboard's new key and what was learnt on the way (no secret but `session`)."""

    session: str
    account: Account
    dashboard_hash: int  # the new authorization's hash, as other sessions see it
    connector_hash: int | None  # the connector's authorization, as the dashboard sees it (None: ambiguous)


class MintPasswordNeeded(app_errors.TelegramError):
    field = "password"
    default_message = (
        "This account has two-step verification: type its password to create the dashboard's own "
        "authorization. The password is used once and never stored. Nothing was changed."
    )


class MintPasswordInvalid(app_errors.PasswordInvalid):
    default_message = (
        "That two-step verification password is wrong, so the dashboard's authorization was not made and "
        "nothing was changed. Type the account's password again (it is the one the Telegram app asks for "
        "after the login code)."
    )


class MintFailed(app_errors.TelegramError):
    """The dashboard's new key failed during the mint: the connector's key is not to blame."""

    default_message = (
        "Telegram did not let the dashboard's new authorization in (it still answered that the key is not "
        "registered, which happens for a few seconds while a new login spreads between Telegram's data "
        "centres). The connector's session is not affected and nothing was kept: use “Mint the dashboard's "
        "authorization” again in a minute."
    )


def _dashboard_failed(exc: BaseException) -> app_errors.TelegramError:
    """An error raised on the dashboard's new key, in words that do not blame the connector."""
    translated = app_errors.translate(exc)
    if isinstance(translated, (app_errors.SessionRevoked, app_errors.NotAuthorized)):
        return MintFailed()
    if isinstance(translated, app_errors.PasswordInvalid):
        return MintPasswordInvalid()
    return translated


async def on_new_key(call: Callable[[], Awaitable[T]], delays: tuple[float, ...] | None = None) -> T:
    """Run a request on a key just logged in, asking again while it answers AUTH_KEY_UNREGISTERED."""
    pauses = list(NEW_KEY_RETRY_DELAYS if delays is None else delays)
    while True:
        try:
            return await call()
        except errors.AuthKeyUnregisteredError:
            if not pauses:
                raise
            await asyncio.sleep(pauses.pop(0))


async def _check_password_first(connector: TelegramClient, password: str | None) -> None:
    """Refuse a missing or wrong 2FA password before any authorization is made (on the connector's key).

    A server that cannot check it this way leaves the check to the new key's own SRP step.
    """
    try:
        settings = await connector(functions.account.GetPasswordRequest())
    except (errors.UnauthorizedError, errors.AuthKeyError, errors.FloodError):
        raise
    except errors.RPCError:
        return
    if not settings.has_password:
        return
    if not password:
        raise MintPasswordNeeded()
    try:
        await connector(functions.account.GetPasswordSettingsRequest(password=compute_check(settings, password)))
    except errors.PasswordHashInvalidError:
        raise MintPasswordInvalid() from None
    except (errors.UnauthorizedError, errors.AuthKeyError, errors.FloodError):
        raise
    except errors.RPCError:
        return


async def _end_half_made(holder: TelegramClient, connector: TelegramClient, accepted: types.Authorization) -> None:
    """The new authorization must not outlive a failed mint: it logs itself out, else the connector ends it."""
    with contextlib.suppress(errors.RPCError, ConnectionError, OSError, asyncio.TimeoutError):
        await holder(functions.auth.LogOutRequest())
        return
    if accepted.hash:
        with contextlib.suppress(errors.RPCError, ConnectionError, OSError, asyncio.TimeoutError):
            await connector(functions.account.ResetAuthorizationRequest(hash=accepted.hash))


def mint_dashboard_key(
    *,
    connector_session: str,
    api: ApiCredentials,
    session_name: str,
    password: str | None = None,
    proxy: Proxy | None = None,
) -> Minted:
    """Use the connector's key once to log a new dashboard key in to the same account.

    Both clients go through `proxy`, the instance's own (None: TELEGRAM_PROXY, else direct).
    """

    async def main() -> Minted:
        connector = build_client(connector_session, api, ClientLabel(KeyRole.CONNECTOR, session_name, proxy))
        dashboard_label = ClientLabel(KeyRole.DASHBOARD, session_name, proxy)
        dashboard = build_client("", api, dashboard_label)
        holder: TelegramClient = dashboard
        accepted: types.Authorization | None = None
        try:
            await connector.connect()
            me = await connector.get_me()
            if not isinstance(me, types.User):
                raise app_errors.NotAuthorized()
            await _check_password_first(connector, password)
            request = functions.auth.ExportLoginTokenRequest(api_id=api.api_id, api_hash=api.api_hash, except_ids=[])
            try:
                await dashboard.connect()
                token = await dashboard(request)
            except errors.RPCError as exc:
                raise _dashboard_failed(exc) from exc
            if not isinstance(token, types.auth.LoginToken):
                raise app_errors.TelegramError("Telegram did not hand out a login token. Try again in a moment.")
            accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
            try:
                result, holder = await export_login_token(dashboard, api, dashboard_label)
                if result is PASSWORD_NEEDED:
                    if not password:
                        raise MintPasswordNeeded()
                    await on_new_key(lambda: holder.sign_in(password=password))
                elif not isinstance(result, types.auth.LoginTokenSuccess):
                    raise app_errors.TelegramError(
                        "Telegram did not confirm the dashboard's login. Nothing was kept; try again."
                    )
                listed = await on_new_key(lambda: fetch_authorizations(holder))
                seen_by_dashboard = {a.hash for a in listed if not a.current}
            except errors.RPCError as exc:
                raise _dashboard_failed(exc) from exc
            if getattr(accepted, "unconfirmed", False):
                await connector(
                    functions.account.ChangeAuthorizationSettingsRequest(hash=accepted.hash, confirmed=True)
                )
            seen_by_connector = {a.hash for a in await fetch_authorizations(connector) if not a.current}
            only_dashboard_sees = seen_by_dashboard - seen_by_connector
            minted = Minted(
                session=holder.session.save(),
                account=account_of(me),
                dashboard_hash=accepted.hash,
                connector_hash=only_dashboard_sees.pop() if len(only_dashboard_sees) == 1 else None,
            )
            accepted = None  # kept: nothing to undo
            return minted
        finally:
            if accepted is not None:
                await _end_half_made(holder, connector, accepted)
            for client in {id(c): c for c in (holder, dashboard, connector)}.values():
                with contextlib.suppress(Exception):
                    await client.disconnect()

    try:
        return run_sync(main)
    except app_errors.TelegramError:
        raise
    except errors.PasswordHashInvalidError:
        raise MintPasswordInvalid() from None
    except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated
        raise app_errors.translate(exc) from exc
