"""Every Telegram call goes through here: one factory, one way to run an operation, one error map.

A *factory* (setting TELEGRAM_CLIENT_FACTORY, a dotted path) is a callable
``factory(session: str, *, api_id: int, api_hash: str) -> telethon.TelegramClient`` returning an
unconnected client. Operations below take the session string in and hand the (possibly new)
session string back; nothing here keeps a client between calls, so any process can serve any step.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import struct
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from telethon import TelegramClient, errors, functions, types
from telethon.sessions import StringSession

from sessions_app.telegram import errors as app_errors

T = TypeVar("T")
ClientFactory = Callable[..., TelegramClient]


@dataclass(frozen=True)
class ApiCredentials:
    api_id: int
    api_hash: str


@dataclass(frozen=True)
class Account:
    """Who a session is logged in as (no secrets)."""

    user_id: int
    name: str
    username: str
    phone: str


@dataclass(frozen=True)
class SentCode:
    session: str
    phone_code_hash: str
    code_type: str
    next_type: str
    timeout: int | None


@dataclass(frozen=True)
class SignedIn:
    session: str
    account: Account


def real_client_factory(session: str, *, api_id: int, api_hash: str) -> TelegramClient:
    """The default outside demo mode: a real client on Telegram's production DCs."""
    timeout = settings.TELEGRAM_TIMEOUT_SECONDS
    return TelegramClient(
        StringSession(session),
        api_id,
        api_hash,
        connection_retries=1,
        retry_delay=1,
        timeout=timeout,
        request_retries=2,
        device_model="teleconnect",
        app_version="teleconnect 1.0",
        receive_updates=False,
    )


@lru_cache(maxsize=8)
def _load_factory(path: str) -> ClientFactory:
    try:
        factory = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"TELEGRAM_CLIENT_FACTORY={path!r} cannot be imported: {exc}") from None
    if not callable(factory):
        raise ImproperlyConfigured(f"TELEGRAM_CLIENT_FACTORY={path!r} is not callable")
    return factory


def client_factory() -> ClientFactory:
    return _load_factory(settings.TELEGRAM_CLIENT_FACTORY)


# Demo mode has no real credentials, but TelegramClient refuses an empty pair: any factory (ours
# or another fake) gets this placeholder, which no real Telegram server accepts.
DEMO_CREDENTIALS = ApiCredentials(api_id=1, api_hash="0" * 32)


def default_credentials() -> ApiCredentials:
    if settings.TELEGRAM_DEMO:
        return DEMO_CREDENTIALS
    return ApiCredentials(api_id=settings.TELEGRAM_API_ID, api_hash=settings.TELEGRAM_API_HASH)


def build_client(session: str, api: ApiCredentials) -> TelegramClient:
    """A new, unconnected client from the configured factory; a malformed string is the user's error."""
    if session:
        check_session_string(session)
    client = client_factory()(session, api_id=api.api_id, api_hash=api.api_hash)
    # Flood waits come back to us: the page shows the seconds left instead of a request that hangs.
    client.flood_sleep_threshold = 0
    return client


def check_session_string(session: str) -> None:
    """Parse a session string offline; raise SessionMalformed when it is not one."""
    if not session or not session.startswith("1"):
        raise app_errors.SessionMalformed()
    try:
        parsed = StringSession(session)
    except (ValueError, struct.error, binascii.Error, UnicodeError):
        raise app_errors.SessionMalformed() from None
    if parsed.auth_key is None or not parsed.server_address:
        raise app_errors.SessionMalformed()


def run(session: str, api: ApiCredentials, operation: Callable[[TelegramClient], Awaitable[T]]) -> tuple[T, str]:
    """Connect a fresh client, run one operation, disconnect; return (result, session string after).

    Telethon errors come out as sessions_app.telegram.errors exceptions.
    """

    async def main() -> tuple[T, str]:
        client = build_client(session, api)
        try:
            await client.connect()
            result = await operation(client)
            after = client.session.save() if client.session is not None else ""
            return result, after
        finally:
            await client.disconnect()

    try:
        return run_coroutine(main)
    except app_errors.TelegramError:
        raise
    except Exception as exc:  # noqa: BLE001 - every Telethon/network failure is translated below
        raise translate(exc) from exc


def run_coroutine(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="telegram-op")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]


def translate(exc: BaseException) -> app_errors.TelegramError:
    """Telethon's exception -> the app's, with a sentence a person understands."""
    if isinstance(exc, app_errors.TelegramError):
        return exc
    if isinstance(exc, (errors.FloodWaitError, errors.FloodPremiumWaitError, errors.FloodTestPhoneWaitError)):
        return app_errors.FloodWait(exc.seconds)
    if isinstance(exc, errors.PhoneNumberFloodError):
        return app_errors.FloodWait(24 * 3600)
    if isinstance(exc, errors.TakeoutInitDelayError):
        return app_errors.TakeoutInitDelay(exc.seconds)
    simple: list[tuple[type[BaseException] | tuple[type[BaseException], ...], type[app_errors.TelegramError]]] = [
        (errors.PhoneNumberInvalidError, app_errors.PhoneNumberInvalid),
        (errors.PhoneNumberBannedError, app_errors.PhoneNumberBanned),
        (errors.PhoneNumberUnoccupiedError, app_errors.PhoneNumberUnoccupied),
        (errors.PhoneCodeInvalidError, app_errors.CodeInvalid),
        ((errors.PhoneCodeExpiredError, errors.PhoneCodeHashEmptyError), app_errors.CodeExpired),
        (errors.PhoneCodeEmptyError, app_errors.CodeEmpty),
        (errors.PasswordHashInvalidError, app_errors.PasswordInvalid),
        ((errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError), app_errors.ApiIdInvalid),
        (errors.FreshResetAuthorisationForbiddenError, app_errors.FreshResetForbidden),
    ]
    for telethon_error, app_error in simple:
        if isinstance(exc, telethon_error):
            return app_error()
    if isinstance(exc, (errors.SessionExpiredError,)):
        return app_errors.SessionRevoked(
            "This session has expired. Log in again to create a new one.", reason="expired"
        )
    if isinstance(exc, (errors.UserDeactivatedError, errors.UserDeactivatedBanError)):
        return app_errors.SessionRevoked(
            "The Telegram account of this session was deleted or banned.", reason="deactivated"
        )
    if isinstance(exc, errors.AuthKeyDuplicatedError):
        return app_errors.SessionRevoked(
            "Telegram killed this session because it was used from two places at once (AUTH_KEY_DUPLICATED). Log in again.",
            reason="revoked",
        )
    if isinstance(exc, errors.AuthKeyNotFound):
        return app_errors.SessionRevoked(
            "Telegram does not know this session's key: it was logged out, or belongs to another Telegram server.",
            reason="unknown_key",
        )
    if isinstance(exc, (errors.AuthKeyUnregisteredError, errors.SessionRevokedError)):
        return app_errors.SessionRevoked()
    if isinstance(exc, errors.UnauthorizedError):
        return app_errors.NotAuthorized()
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError)):
        return app_errors.TelegramUnreachable()
    if isinstance(exc, errors.RPCError):
        return app_errors.TelegramError(f"Telegram refused the request ({exc.message}). Nothing was changed.")
    return app_errors.TelegramError(
        f"Unexpected failure talking to Telegram ({type(exc).__name__}). Nothing was changed."
    )


# --- Operations ---------------------------------------------------------------------------------


def _account(user: types.User) -> Account:
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or str(user.id)
    return Account(user_id=user.id, name=name, username=user.username or "", phone=user.phone or "")


def _sent_code(session: str, sent: types.auth.SentCode) -> SentCode:
    return SentCode(
        session=session,
        phone_code_hash=sent.phone_code_hash,
        code_type=type(sent.type).__name__.removeprefix("SentCodeType"),
        next_type=type(sent.next_type).__name__.removeprefix("CodeType") if sent.next_type else "",
        timeout=sent.timeout,
    )


def send_code(*, session: str, phone: str, api: ApiCredentials) -> SentCode:
    """auth.sendCode on a (new or pending) session; the returned session holds the key the code is bound to."""

    async def op(client: TelegramClient) -> types.auth.SentCode:
        return await client.send_code_request(phone)

    sent, after = run(session, api, op)
    return _sent_code(after, sent)


def resend_code(*, session: str, phone: str, phone_code_hash: str, api: ApiCredentials) -> SentCode:
    """auth.resendCode for the pending code; falls back to a fresh code when Telegram dropped the old one."""

    async def op(client: TelegramClient) -> types.auth.SentCode:
        try:
            return await client(functions.auth.ResendCodeRequest(phone, phone_code_hash))
        except (errors.PhoneCodeExpiredError, errors.PhoneCodeHashEmptyError, errors.SendCodeUnavailableError):
            return await client.send_code_request(phone)

    sent, after = run(session, api, op)
    return _sent_code(after, sent)


async def _password_hint(client: TelegramClient) -> str:
    try:
        password = await client(functions.account.GetPasswordRequest())
    except errors.RPCError:
        return ""
    return password.hint or ""


def sign_in_code(*, session: str, phone: str, code: str, phone_code_hash: str, api: ApiCredentials) -> SignedIn:
    """auth.signIn with the code; raises PasswordNeeded (carrying the session) when 2FA is on."""

    async def op(client: TelegramClient) -> Account | str:
        try:
            user = await client.sign_in(phone=phone, code=code, phone_code_hash=phone_code_hash)
        except errors.SessionPasswordNeededError:
            return await _password_hint(client)
        return _account(user)

    result, after = run(session, api, op)
    if isinstance(result, str):
        raise app_errors.PasswordNeeded(after, hint=result)
    return SignedIn(session=after, account=result)


def sign_in_password(*, session: str, password: str, api: ApiCredentials) -> SignedIn:
    """The SRP 2FA check (Telethon computes it; the password never leaves this call)."""

    async def op(client: TelegramClient) -> Account:
        return _account(await client.sign_in(password=password))

    account, after = run(session, api, op)
    return SignedIn(session=after, account=account)


def get_me(*, session: str, api: ApiCredentials) -> Account:
    """Who the session is logged in as; SessionRevoked/NotAuthorized/SessionMalformed when it is not usable."""
    if not session:
        raise app_errors.SessionMalformed()

    async def op(client: TelegramClient) -> Account:
        me = await client.get_me()
        if me is None:
            raise app_errors.NotAuthorized()
        return _account(me)

    account, _ = run(session, api, op)
    return account


def log_out(*, session: str, api: ApiCredentials) -> bool:
    """auth.logOut; True when Telegram confirmed, also True when the key was already unregistered."""

    async def op(client: TelegramClient) -> bool:
        try:
            await client(functions.auth.LogOutRequest())
        except (errors.AuthKeyUnregisteredError, errors.SessionRevokedError, errors.AuthKeyNotFound):
            return True
        return True

    try:
        result, _ = run(session, api, op)
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
    date_created: object
    date_active: object
    official_app: bool


def list_authorizations(*, session: str, api: ApiCredentials) -> list[Authorization]:
    async def op(client: TelegramClient) -> list[Authorization]:
        result = await client(functions.account.GetAuthorizationsRequest())
        return [
            Authorization(
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
            )
            for item in result.authorizations
        ]

    authorizations, _ = run(session, api, op)
    return authorizations


def terminate_authorization(*, session: str, api: ApiCredentials, authorization_hash: int) -> None:
    async def op(client: TelegramClient) -> None:
        await client(functions.account.ResetAuthorizationRequest(hash=authorization_hash))

    run(session, api, op)


def terminate_other_authorizations(*, session: str, api: ApiCredentials) -> None:
    async def op(client: TelegramClient) -> None:
        await client(functions.auth.ResetAuthorizationsRequest())

    run(session, api, op)


@dataclass(frozen=True)
class QrPending:
    """A login token waiting to be scanned: show `url` as a QR code until `expires`."""

    session: str
    url: str
    expires: datetime.datetime


def qr_poll(*, session: str, api: ApiCredentials) -> QrPending | SignedIn:
    """auth.exportLoginToken: a (new) token while nobody scanned it, the account once someone did.

    Stateless like the code flow: call it again with the returned session to check. Raises
    PasswordNeeded when the account has 2FA (then sign_in_password finishes the login).
    """

    async def op(client: TelegramClient) -> QrPending | Account | str:
        request = functions.auth.ExportLoginTokenRequest(api_id=client.api_id, api_hash=client.api_hash, except_ids=[])
        try:
            result = await client(request)
            if isinstance(result, types.auth.LoginTokenMigrateTo):
                # What Telethon's QRLogin.wait() does: the account lives on another DC.
                await client._switch_dc(result.dc_id)
                result = await client(functions.auth.ImportLoginTokenRequest(result.token))
        except errors.SessionPasswordNeededError:
            return await _password_hint(client)
        if isinstance(result, types.auth.LoginTokenSuccess):
            return _account(result.authorization.user)
        token = base64.urlsafe_b64encode(result.token).decode("ascii").rstrip("=")
        return QrPending(session="", url=f"tg://login?token={token}", expires=result.expires)

    result, after = run(session, api, op)
    if isinstance(result, str):
        raise app_errors.PasswordNeeded(after, hint=result)
    if isinstance(result, Account):
        return SignedIn(session=after, account=result)
    return QrPending(session=after, url=result.url, expires=result.expires)
