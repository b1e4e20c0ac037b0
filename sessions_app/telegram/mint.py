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

A failure after step 2 logs the half-made key out, so no authorization is left untracked.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from telethon import TelegramClient, errors, functions, types

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.account import Account, account_of, fetch_authorizations
from sessions_app.telegram.bridge import run_sync
from sessions_app.telegram.client import ApiCredentials, ClientLabel, KeyRole, build_client
from sessions_app.telegram.login import PASSWORD_NEEDED, export_login_token


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
        "authorization. The password is used once and never stored."
    )


def mint_dashboard_key(
    *, connector_session: str, api: ApiCredentials, session_name: str, password: str | None = None
) -> Minted:
    """Use the connector's key once to log a new dashboard key in to the same account."""

    async def main() -> Minted:
        connector = build_client(connector_session, api, ClientLabel(KeyRole.CONNECTOR, session_name))
        dashboard_label = ClientLabel(KeyRole.DASHBOARD, session_name)
        dashboard = build_client("", api, dashboard_label)
        holder: TelegramClient = dashboard
        accepted: types.Authorization | None = None
        try:
            await connector.connect()
            me = await connector.get_me()
            if not isinstance(me, types.User):
                raise app_errors.NotAuthorized()
            await dashboard.connect()
            request = functions.auth.ExportLoginTokenRequest(api_id=api.api_id, api_hash=api.api_hash, except_ids=[])
            token = await dashboard(request)
            if not isinstance(token, types.auth.LoginToken):
                raise app_errors.TelegramError("Telegram did not hand out a login token. Try again in a moment.")
            accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
            result, holder = await export_login_token(dashboard, api, dashboard_label)
            if result is PASSWORD_NEEDED:
                if not password:
                    raise MintPasswordNeeded()
                await holder.sign_in(password=password)
            elif not isinstance(result, types.auth.LoginTokenSuccess):
                raise app_errors.TelegramError(
                    "Telegram did not confirm the dashboard's login. Nothing was kept; try again."
                )
            if getattr(accepted, "unconfirmed", False):
                await connector(
                    functions.account.ChangeAuthorizationSettingsRequest(hash=accepted.hash, confirmed=True)
                )
            seen_by_connector = {a.hash for a in await fetch_authorizations(connector) if not a.current}
            seen_by_dashboard = {a.hash for a in await fetch_authorizations(holder) if not a.current}
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
                # Half-made: the new authorization must not outlive this call untracked.
                with contextlib.suppress(errors.RPCError, ConnectionError, OSError):
                    await holder(functions.auth.LogOutRequest())
            for client in {id(c): c for c in (holder, dashboard, connector)}.values():
                with contextlib.suppress(Exception):
                    await client.disconnect()

    try:
        return run_sync(main)
    except app_errors.TelegramError:
        raise
    except errors.PasswordHashInvalidError:
        raise app_errors.PasswordInvalid() from None
    except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated
        raise app_errors.translate(exc) from exc
