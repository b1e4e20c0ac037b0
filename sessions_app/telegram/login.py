"""The login steps on a new key: send the code, sign in with it and the 2FA password, or a QR token.

Each step is one connection: the pending session string goes in, the (new) string comes back.
Telegram sends the code in many ways (auth.sentCodeType*): in the app, by SMS, in a call, by
email, as a word; some accounts must set up a login email first. SentCode says which, with what
the page needs to ask for it; the ways only Telegram's official apps can follow are refused here.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
from dataclasses import dataclass

from telethon import TelegramClient, errors, functions, types, utils

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.account import Account, account_of
from sessions_app.telegram.client import ApiCredentials, ClientLabel, build_client, run

# Code types (auth.sentCodeType* names without the prefix) the login steps treat apart.
EMAIL_CODE = "EmailCode"  # the code went to the login email: auth.signIn takes it as email_verification
SET_UP_EMAIL = "SetUpEmailRequired"  # no code yet: the account must set up a login email first
EMAIL_SETUP = "EmailSetup"  # ours: the emailed code that confirms a new login email (account.verifyEmail)
WORD_TYPES = frozenset({"SmsWord", "SmsPhrase"})
_HINTS = ("email_pattern", "beginning", "prefix", "pattern", "url")  # at most one per sent-code type


@dataclass(frozen=True)
class SentCode:
    session: str
    phone_code_hash: str
    code_type: str
    next_type: str
    timeout: int | None
    length: int | None = None  # digits announced, when the type announces them
    hint: str = ""  # email pattern, first letter of the word or first word of the phrase, caller prefix, URL


@dataclass(frozen=True)
class SignedIn:
    session: str
    account: Account


def _sent_code(session: str, sent: types.auth.SentCode) -> SentCode:
    kind = sent.type
    return SentCode(
        session=session,
        phone_code_hash=sent.phone_code_hash,
        code_type=type(kind).__name__.removeprefix("SentCodeType"),
        next_type=type(sent.next_type).__name__.removeprefix("CodeType") if sent.next_type else "",
        timeout=sent.timeout,
        length=getattr(kind, "length", None),
        hint=next((str(value) for name in _HINTS if (value := getattr(kind, name, None))), ""),
    )


async def _accepted(client: TelegramClient, sent: types.auth.TypeSentCode) -> types.auth.SentCode:
    """The sent code, or OfficialAppOnly for an answer only Telegram's own apps can follow."""
    if isinstance(sent, types.auth.SentCodeSuccess):
        # Logged in without a code (a future auth token we never sent): undo it, as nothing keeps this key.
        with contextlib.suppress(errors.RPCError):
            await client(functions.auth.LogOutRequest())
        raise app_errors.OfficialAppOnly(app_errors.UNEXPECTED_LOGIN)
    if isinstance(sent, types.auth.SentCodePaymentRequired):
        raise app_errors.OfficialAppOnly(app_errors.PAYMENT_REQUIRED)
    if isinstance(sent.type, types.auth.SentCodeTypeFirebaseSms):
        raise app_errors.OfficialAppOnly(app_errors.FIREBASE_ONLY)
    return sent


async def _request_code(client: TelegramClient, phone: str) -> types.auth.SentCode:
    """auth.sendCode; Telethon's send_code_request cannot take the answers only official apps get."""
    request = functions.auth.SendCodeRequest(phone, client.api_id, client.api_hash, types.CodeSettings())
    for _ in range(2):
        with contextlib.suppress(errors.AuthRestartError):
            return await _accepted(client, await client(request))
    return await _accepted(client, await client(request))


def _number(phone: str) -> str:
    return utils.parse_phone(phone) or phone


def send_code(*, session: str, phone: str, api: ApiCredentials, label: ClientLabel | None = None) -> SentCode:
    """auth.sendCode on a (new or pending) session; the returned session holds the key the code is bound to."""

    async def op(client: TelegramClient) -> types.auth.SentCode:
        return await _request_code(client, _number(phone))

    sent, after = run(session, api, op, label)
    return _sent_code(after, sent)


def resend_code(
    *, session: str, phone: str, phone_code_hash: str, api: ApiCredentials, label: ClientLabel | None = None
) -> SentCode:
    """auth.resendCode: the code again, the way the last answer's next_type said; a fresh code when
    Telegram dropped the old one. SEND_CODE_UNAVAILABLE (no other way left) comes out as an error."""

    async def op(client: TelegramClient) -> types.auth.SentCode:
        try:
            sent = await client(functions.auth.ResendCodeRequest(_number(phone), phone_code_hash))
        except (errors.PhoneCodeExpiredError, errors.PhoneCodeHashEmptyError):
            return await _request_code(client, _number(phone))
        return await _accepted(client, sent)

    sent, after = run(session, api, op, label)
    return _sent_code(after, sent)


async def password_hint(client: TelegramClient) -> str:
    try:
        password = await client(functions.account.GetPasswordRequest())
    except errors.RPCError:
        return ""
    return password.hint or ""


def sign_in_code(
    *,
    session: str,
    phone: str,
    code: str,
    phone_code_hash: str,
    api: ApiCredentials,
    label: ClientLabel | None = None,
    code_type: str = "",
) -> SignedIn:
    """auth.signIn with the code; raises PasswordNeeded (carrying the session) when 2FA is on.

    An emailed login code (code_type EMAIL_CODE) goes in as email_verification, any other as phone_code.
    """

    async def op(client: TelegramClient) -> Account | str:
        if code_type == EMAIL_CODE:
            verification = types.EmailVerificationCode(code)
            request = functions.auth.SignInRequest(_number(phone), phone_code_hash, email_verification=verification)
        else:
            request = functions.auth.SignInRequest(_number(phone), phone_code_hash, phone_code=code)
        try:
            result = await client(request)
        except errors.SessionPasswordNeededError:
            return await password_hint(client)
        except errors.PhoneCodeInvalidError:
            if code_type in WORD_TYPES:
                raise app_errors.WordInvalid() from None
            raise
        if isinstance(result, types.auth.AuthorizationSignUpRequired):
            raise app_errors.PhoneNumberUnoccupied()
        if not isinstance(result.user, types.User):
            raise app_errors.NotAuthorized()
        return account_of(result.user)

    result, after = run(session, api, op, label)
    if isinstance(result, str):
        raise app_errors.PasswordNeeded(after, hint=result)
    return SignedIn(session=after, account=result)


def send_email_code(
    *, session: str, phone: str, phone_code_hash: str, email: str, api: ApiCredentials, label: ClientLabel | None = None
) -> SentCode:
    """account.sendVerifyEmailCode: Telegram emails a code that confirms `email` as the login email.

    Answers with a SentCode of type EMAIL_SETUP (the login code's hash is unchanged).
    """

    async def op(client: TelegramClient) -> types.account.SentEmailCode:
        purpose = types.EmailVerifyPurposeLoginSetup(_number(phone), phone_code_hash)
        return await client(functions.account.SendVerifyEmailCodeRequest(purpose, email))

    sent, after = run(session, api, op, label)
    return SentCode(
        session=after,
        phone_code_hash=phone_code_hash,
        code_type=EMAIL_SETUP,
        next_type="",
        timeout=None,
        length=sent.length,
        hint=sent.email_pattern,
    )


def verify_login_email(
    *, session: str, phone: str, phone_code_hash: str, code: str, api: ApiCredentials, label: ClientLabel | None = None
) -> SentCode:
    """account.verifyEmail with the emailed code; returns the login code Telegram sends next (normally by email)."""

    async def op(client: TelegramClient) -> types.auth.SentCode:
        purpose = types.EmailVerifyPurposeLoginSetup(_number(phone), phone_code_hash)
        verification = types.EmailVerificationCode(code)
        verified = await client(functions.account.VerifyEmailRequest(purpose, verification))
        if not isinstance(verified, types.account.EmailVerifiedLogin):
            raise app_errors.TelegramError(
                "Telegram confirmed the email address but sent no login code. Cancel this login and start again."
            )
        return await _accepted(client, verified.sent_code)

    sent, after = run(session, api, op, label)
    return _sent_code(after, sent)


def sign_in_password(*, session: str, password: str, api: ApiCredentials, label: ClientLabel | None = None) -> SignedIn:
    """The SRP 2FA check (Telethon computes it; the password never leaves this call)."""

    async def op(client: TelegramClient) -> Account:
        user = await client.sign_in(password=password)
        if not isinstance(user, types.User):
            raise app_errors.NotAuthorized()
        return account_of(user)

    account, after = run(session, api, op, label)
    return SignedIn(session=after, account=account)


@dataclass(frozen=True)
class QrPending:
    """A login token waiting to be scanned: show `url` as a QR code until `expires`."""

    session: str
    url: str
    expires: datetime.datetime


async def client_on_dc(
    client: TelegramClient, dc_id: int, api: ApiCredentials, label: ClientLabel | None
) -> TelegramClient:
    """A new connected client with a fresh key on DC `dc_id` (what loginTokenMigrateTo asks for)."""
    config = await client(functions.help.GetConfigRequest())
    options = [o for o in config.dc_options if o.id == dc_id and not (o.ipv6 or o.media_only or o.cdn or o.tcpo_only)]
    if not options:
        raise app_errors.TelegramError(f"Telegram sent us to data centre {dc_id}, which it does not list. Try again.")
    other = build_client("", api, label)
    other.session.set_dc(options[0].id, options[0].ip_address, options[0].port)
    await other.connect()
    return other


PASSWORD_NEEDED = None  # what export_login_token returns when the account asks for its 2FA password


async def export_login_token(
    client: TelegramClient, api: ApiCredentials, label: ClientLabel | None
) -> tuple[types.auth.LoginToken | types.auth.LoginTokenSuccess | None, TelegramClient]:
    """auth.exportLoginToken, following a migration to the account's DC.

    Returns (result, the client that holds it): result is PASSWORD_NEEDED (None) when the account
    has two-step verification (the password step continues on that client's key). The caller
    disconnects the returned client when it is not `client`.
    """
    request = functions.auth.ExportLoginTokenRequest(api_id=api.api_id, api_hash=api.api_hash, except_ids=[])
    try:
        result = await client(request)
    except errors.SessionPasswordNeededError:
        return PASSWORD_NEEDED, client
    if not isinstance(result, types.auth.LoginTokenMigrateTo):
        return result, client
    other = await client_on_dc(client, result.dc_id, api, label)
    try:
        return await other(functions.auth.ImportLoginTokenRequest(result.token)), other
    except errors.SessionPasswordNeededError:
        return PASSWORD_NEEDED, other
    except BaseException:
        await other.disconnect()
        raise


def qr_poll(*, session: str, api: ApiCredentials, label: ClientLabel | None = None) -> QrPending | SignedIn:
    """auth.exportLoginToken: a (new) token while nobody scanned it, the account once someone did.

    Stateless like the code flow: call it again with the returned session to check. Raises
    PasswordNeeded when the account has 2FA (then sign_in_password finishes the login).
    """

    async def op(client: TelegramClient) -> tuple[QrPending | Account | str, str]:
        result, holder = await export_login_token(client, api, label)
        try:
            moved = holder.session.save() if holder is not client else ""
            if result is PASSWORD_NEEDED:
                return await password_hint(holder), moved
            if isinstance(result, types.auth.LoginTokenSuccess):
                user = result.authorization.user
                if not isinstance(user, types.User):
                    raise app_errors.NotAuthorized()
                return account_of(user), moved
            assert result is not None
            token = base64.urlsafe_b64encode(result.token).decode("ascii").rstrip("=")
            return QrPending(session="", url=f"tg://login?token={token}", expires=result.expires), moved
        finally:
            if holder is not client:
                await holder.disconnect()

    (result, moved), after = run(session, api, op, label)
    after = moved or after
    if isinstance(result, str):
        raise app_errors.PasswordNeeded(after, hint=result)
    if isinstance(result, Account):
        return SignedIn(session=after, account=result)
    return QrPending(session=after, url=result.url, expires=result.expires)
