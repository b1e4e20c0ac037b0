"""The app's Telegram exceptions: what services, forms and views catch.

Each carries a sentence for a person (what happened, what to do next); translate() at the
bottom turns Telethon's errors into these.
"""

from __future__ import annotations

import asyncio
import datetime
import math

from telethon import errors


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
        self.reason = reason  # "revoked", "expired", "deactivated", "unknown_key"


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


class TelegramUnreachable(TelegramError):
    default_message = (
        "Telegram could not be reached (network error or timeout). Nothing was changed; try again in a moment."
    )


def seconds_left(until: datetime.datetime | None, now: datetime.datetime | None = None) -> int:
    """Whole seconds still to wait until `until`, rounded up; 0 when there is no wait or it is over.

    The one rounding for every wait the pages, the archive and the login throttle show.
    """
    if until is None:
        return 0
    now = now or datetime.datetime.now(tz=datetime.UTC)
    return max(0, math.ceil((until - now).total_seconds()))


def format_seconds(seconds: int) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec} s" if sec else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


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
    if isinstance(exc, (errors.UserDeactivatedError, errors.UserDeactivatedBanError)):
        return SessionRevoked("The Telegram account of this session was deleted or banned.", reason="deactivated")
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
    if isinstance(exc, (errors.AuthKeyUnregisteredError, errors.SessionRevokedError)):
        return SessionRevoked()
    if isinstance(exc, errors.UnauthorizedError):
        return NotAuthorized()
    if isinstance(exc, (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError)):
        return TelegramUnreachable()
    if isinstance(exc, errors.RPCError):
        return TelegramError(f"Telegram refused the request ({exc.message}). Nothing was changed.")
    return TelegramError(f"Unexpected failure talking to Telegram ({type(exc).__name__}). Nothing was changed.")
