"""The app's Telegram exceptions: what services, forms and views catch.

Each carries a sentence for a person (what happened, what to do next); translate() at the
bottom turns Telethon's errors into these.
"""

from __future__ import annotations

import asyncio
import datetime

from telethon import errors

from sessions_app.telegram.waits import format_seconds as format_seconds
from sessions_app.telegram.waits import seconds_left as seconds_left


class TelegramError(Exception):
    """Base: `message` is safe to show on a page (it never contains a secret)."""

    default_message = "Telegram refused the request."
    field: str | None = None  # the form field the error belongs to, if any

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class PhoneNumberInvalid(TelegramError):
    field = "phone"
    default_message = "Telegram does not accept this phone number. Write it in international format with the country code, e.g. +44 7700 900123."


class PhoneNumberBanned(TelegramError):
    field = "phone"
    default_message = "Telegram has banned this phone number; it cannot be used to log in. Contact Telegram support (recover@telegram.org)."


class PhoneNumberUnoccupied(TelegramError):
    field = "code"
    default_message = (
        "No Telegram account uses this phone number. Sign up in an official Telegram app first, then log in here."
    )


class CodeInvalid(TelegramError):
    field = "code"
    default_message = "That code is not right. Check the code Telegram sent and type it again."


class CodeExpired(TelegramError):
    field = "code"
    default_message = (
        "This code has expired or was requested from another login attempt. Use “Resend code” to get a new one."
    )


class CodeEmpty(TelegramError):
    field = "code"
    default_message = "Type the code Telegram sent you."


class PasswordInvalid(TelegramError):
    field = "password"
    default_message = "That two-step verification password is wrong. Try again (the hint is shown below the field, if the account has one)."


class PasswordNeeded(TelegramError):
    """Not a failure: the account has two-step verification and the password step comes next."""

    default_message = "This account has two-step verification: enter its password."

    def __init__(self, session: str, hint: str = "") -> None:
        super().__init__()
        self.session = session
        self.hint = hint


class FloodWait(TelegramError):
    def __init__(self, seconds: int) -> None:
        self.seconds = max(int(seconds), 1)
        super().__init__(
            f"Telegram is rate-limiting this request: wait {format_seconds(self.seconds)} before trying again. "
            "Retrying sooner only makes the wait longer."
        )


class ApiIdInvalid(TelegramError):
    default_message = "Telegram rejected the API id/API hash pair. Check them at my.telegram.org (API development tools) and fix the instance or TELEGRAM_API_ID / TELEGRAM_API_HASH."


class SessionRevoked(TelegramError):
    """The auth key no longer works: logged out, terminated from another device, or the account is gone."""

    default_message = "This session is no longer valid: it was logged out or terminated from another device. Log in again to create a new one."

    def __init__(self, message: str | None = None, *, reason: str = "revoked") -> None:
        super().__init__(message)
        self.reason = reason  # "revoked", "expired", "unknown_key", "terminated_all" (a ban is AccountBanned)


# What SESSION_REVOKED means (https://core.telegram.org/api/errors#401-unauthorized): the owner
# terminated all sessions, so every other key of the account, the connector's included, is gone.
ALL_SESSIONS_TERMINATED = (
    "All sessions were terminated from another device of the account: the connector's session and the "
    "dashboard's no longer work. Log in again to create a new one."
)


class AccountBanned(TelegramError):
    """USER_DEACTIVATED_BAN (banned) or USER_DEACTIVATED (deleted): every request of every key fails.

    Not a SessionRevoked: the keys are not forgotten, because an unbanned account's keys work again.
    """

    def __init__(self, message: str | None = None, *, deleted: bool = False) -> None:
        self.deleted = deleted
        super().__init__(message or (ACCOUNT_DELETED if deleted else ACCOUNT_BANNED))


ACCOUNT_BANNED = (
    "Telegram has banned this account: every request of its sessions is refused. Appeal from the official "
    "Telegram app on the account's phone (or write to recover@telegram.org); the sessions work again once "
    "Telegram lifts the ban."
)
ACCOUNT_DELETED = (
    "This Telegram account was deleted: it is gone for good, with its chats. Log in another account to use "
    "this instance again."
)


class AccountFrozen(TelegramError):
    """FROZEN_METHOD_INVALID / FROZEN_PARTICIPANT_MISSING: the account is frozen, most methods are refused."""

    def __init__(
        self, message: str | None = None, *, appeal_url: str = "", until: datetime.datetime | None = None
    ) -> None:
        self.appeal_url = appeal_url
        self.until = until
        if message is None:
            message = "Telegram has frozen this account: its sessions can still read, but most actions are refused."
            message += f" Appeal at {appeal_url}" if appeal_url else " Appeal from the official Telegram app"
            if until is not None:
                message += (
                    f" before {until:%Y-%m-%d %H:%M} UTC: Telegram deletes the account then unless the appeal succeeds."
                )
            else:
                message += "."
        super().__init__(message)


# Telethon 1.40 has classes for both (FROZEN_METHOD_INVALID is a 420 FloodError there); an older
# or newer Telethon may not, and then they come as a bare RPCError carrying the name.
FROZEN_ERRORS = frozenset({"FROZEN_METHOD_INVALID", "FROZEN_PARTICIPANT_MISSING"})
FROZEN_ERROR_CLASSES = tuple(
    cls
    for name in ("FrozenMethodInvalidError", "FrozenParticipantMissingError")
    if (cls := getattr(errors, name, None))
)


def is_frozen_error(exc: BaseException) -> bool:
    if FROZEN_ERROR_CLASSES and isinstance(exc, FROZEN_ERROR_CLASSES):
        return True
    return isinstance(exc, errors.RPCError) and str(exc.message).upper() in FROZEN_ERRORS


class SessionMalformed(TelegramError):
    field = "session_string"
    default_message = (
        "This is not a Telethon session string: it should be one line starting with 1, copied whole (nothing cut off)."
    )


class NotAuthorized(TelegramError):
    default_message = (
        "This session is not logged in to any account: it was logged out, terminated from another device, "
        "or its login was never finished. Log in again to create a new one."
    )


class FreshResetForbidden(TelegramError):
    default_message = (
        "Telegram refuses to terminate other sessions from a session that is less than 24 hours old. "
        "Try again once this session is a day old, or terminate them from an older device."
    )


class TakeoutInitDelay(TelegramError):
    def __init__(self, seconds: int) -> None:
        self.seconds = max(int(seconds), 1)
        super().__init__(
            f"Telegram wants the export approved first: approve the data export in the Telegram app on another device, "
            f"then retry in {format_seconds(self.seconds)}."
        )


class LoginTokenRefused(TelegramError):
    """A login token (QR code) Telegram would not take: each AUTH_TOKEN_* error in words."""


LOGIN_TOKEN_SENTENCES: dict[type[BaseException], str] = {
    errors.AuthTokenExpiredError: (
        "That QR code expired before it was used (they last about 30 seconds). Show a new QR code and scan it at once."
    ),
    errors.AuthTokenAlreadyAcceptedError: (
        "That QR code was already used to log in. If it was not you, end that session in Active sessions; "
        "otherwise show a new QR code."
    ),
    errors.AuthTokenInvalidError: (
        "Telegram does not recognise that QR code (it is malformed or from another login). Show a new QR code."
    ),
    errors.AuthTokenInvalidxError: (
        "Telegram does not recognise that QR code (it is malformed or from another login). Show a new QR code."
    ),
    errors.AuthTokenExceptionError: (
        "Telegram could not process that QR code. Show a new QR code and try again; if it keeps failing, "
        "log in with the phone number instead."
    ),
}


class TelegramUnreachable(TelegramError):
    default_message = (
        "Telegram could not be reached (network error or timeout). Nothing was changed; try again in a moment."
    )


def translate(exc: BaseException) -> TelegramError:
    """Telethon's exception -> the app's, with a sentence a person understands."""
    if isinstance(exc, TelegramError):
        return exc
    if isinstance(exc, (errors.FloodWaitError, errors.FloodPremiumWaitError, errors.FloodTestPhoneWaitError)):
        return FloodWait(exc.seconds)
    if isinstance(exc, errors.PhoneNumberFloodError):
        return FloodWait(24 * 3600)
    if isinstance(exc, errors.TakeoutInitDelayError):
        return TakeoutInitDelay(exc.seconds)
    simple: list[tuple[type[BaseException] | tuple[type[BaseException], ...], type[TelegramError]]] = [
        (errors.PhoneNumberInvalidError, PhoneNumberInvalid),
        (errors.PhoneNumberBannedError, PhoneNumberBanned),
        (errors.PhoneNumberUnoccupiedError, PhoneNumberUnoccupied),
        (errors.PhoneCodeInvalidError, CodeInvalid),
        ((errors.PhoneCodeExpiredError, errors.PhoneCodeHashEmptyError), CodeExpired),
        (errors.PhoneCodeEmptyError, CodeEmpty),
        (errors.PasswordHashInvalidError, PasswordInvalid),
        ((errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError), ApiIdInvalid),
        (errors.FreshResetAuthorisationForbiddenError, FreshResetForbidden),
    ]
    for telethon_error, app_error in simple:
        if isinstance(exc, telethon_error):
            return app_error()
    if isinstance(exc, (errors.SessionExpiredError,)):
        return SessionRevoked("This session has expired. Log in again to create a new one.", reason="expired")
    if isinstance(exc, errors.UserDeactivatedBanError):  # a subclass of neither; checked before its sibling
        return AccountBanned(deleted=False)
    if isinstance(exc, errors.UserDeactivatedError):
        return AccountBanned(deleted=True)
    if is_frozen_error(exc):
        return AccountFrozen()
    if isinstance(exc, errors.AuthKeyDuplicatedError):
        return SessionRevoked(
            "Telegram killed this session because it was used from two places at once (AUTH_KEY_DUPLICATED). Log in again.",
            reason="revoked",
        )
    if isinstance(exc, errors.AuthKeyNotFound):
        return SessionRevoked(
            "Telegram does not know this session's key: it was logged out, or belongs to another Telegram server.",
            reason="unknown_key",
        )
    if isinstance(exc, errors.SessionRevokedError):
        return SessionRevoked(ALL_SESSIONS_TERMINATED, reason="terminated_all")
    if isinstance(exc, errors.AuthKeyUnregisteredError):
        return SessionRevoked()
    for token_error, sentence in LOGIN_TOKEN_SENTENCES.items():
        if isinstance(exc, token_error):
            return LoginTokenRefused(sentence)
    if isinstance(exc, errors.UnauthorizedError):
        return NotAuthorized()
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError)):
        return TelegramUnreachable()
    if (login_code_error := translate_login_code(exc)) is not None:
        return login_code_error
    if isinstance(exc, errors.RPCError):
        return TelegramError(f"Telegram refused the request ({exc.message}). Nothing was changed.")
    return TelegramError(f"Unexpected failure talking to Telegram ({type(exc).__name__}). Nothing was changed.")


# --- Login codes of every sent-code type, and the login email ----------------------------------------

_OFFICIAL_APP_ADVICE = (
    " Nothing was kept. Log the account in once in an official Telegram app (Telegram then usually sends "
    "the code there), or use “Log in with a QR code instead” from a phone where the account is logged in."
)
FIREBASE_ONLY = (
    "Telegram sends this number's login code only after a device check that just its official apps can do "
    "(Firebase SMS), so the dashboard cannot receive it." + _OFFICIAL_APP_ADVICE
)
PAYMENT_REQUIRED = (
    "Telegram wants a Telegram Premium purchase before it sends a login code to this number (SMS is costly "
    "there), and only its official apps can make that purchase." + _OFFICIAL_APP_ADVICE
)
UNEXPECTED_LOGIN = (
    "Telegram logged in without a code, in a way only its official apps expect; the dashboard logged that "
    "session out again." + _OFFICIAL_APP_ADVICE
)


class OfficialAppOnly(TelegramError):
    """Telegram answered with a way to log in that only its official apps can follow."""

    default_message = FIREBASE_ONLY


class WordInvalid(TelegramError):
    field = "code"
    default_message = (
        "That is not the word Telegram sent by SMS. Type the word (or phrase) exactly as the SMS shows it, "
        "letters only, or use “Resend code”."
    )


class EmailCodeInvalid(TelegramError):
    field = "code"
    default_message = (
        "That is not the code Telegram emailed. Type the code from Telegram's newest email to the login "
        "address (look in the spam folder too)."
    )


class EmailSetupCodeInvalid(TelegramError):
    field = "code"
    default_message = (
        "That is not the code Telegram emailed to confirm the address. Type the code from its newest email "
        "(look in the spam folder too), or use “Send a new code” to type the address again."
    )


class EmailVerifyExpired(TelegramError):
    field = "code"
    default_message = "The code Telegram emailed has expired. Use “Send a new code” and type the address again."


class EmailInvalid(TelegramError):
    field = "email"
    default_message = "Telegram does not accept this email address. Check it for typos and type it again."


class EmailNotAllowed(TelegramError):
    field = "email"
    default_message = (
        "Telegram does not take this address as a login email (it refuses some providers). "
        "Use an address at another email provider."
    )


class SendCodeUnavailable(TelegramError):
    default_message = (
        "Telegram has no other way left to send a code to this number now. Use the last code that arrived, "
        "or cancel and start the login again later."
    )


class LoginAttemptExpired(TelegramError):
    default_message = (
        "This login attempt expired before the email address was set up. Cancel it and start again with "
        "the phone number."
    )


# Telethon has classes for some of these errors; the others come as a bare RPCError with the name.
LOGIN_CODE_ERRORS: tuple[tuple[type[BaseException] | str, type[TelegramError]], ...] = (
    ("EMAIL_CODE_INVALID", EmailCodeInvalid),  # auth.signIn with a wrong email_verification code
    (errors.CodeInvalidError, EmailSetupCodeInvalid),  # account.verifyEmail with a wrong code
    (errors.EmailVerifyExpiredError, EmailVerifyExpired),
    (errors.EmailInvalidError, EmailInvalid),
    ("EMAIL_NOT_ALLOWED", EmailNotAllowed),
    (errors.SendCodeUnavailableError, SendCodeUnavailable),
    (errors.PhoneHashExpiredError, LoginAttemptExpired),
)


def translate_login_code(exc: BaseException) -> TelegramError | None:
    """translate() for the errors of sent-code types and the login email; None for any other error."""
    for match, app_error in LOGIN_CODE_ERRORS:
        if isinstance(match, str):
            if isinstance(exc, errors.RPCError) and exc.message == match:
                return app_error()
        elif isinstance(exc, match):
            return app_error()
    return None
