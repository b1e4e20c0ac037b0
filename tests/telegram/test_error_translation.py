"""Every Telegram failure a person can meet becomes a sentence that says what to do next."""

from __future__ import annotations

import pytest
from telethon import errors

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.errors import translate


@pytest.mark.parametrize(
    ("telethon_error", "app_error", "words"),
    [
        (errors.PhoneNumberInvalidError(None), app_errors.PhoneNumberInvalid, "international format"),
        (errors.PhoneNumberBannedError(None), app_errors.PhoneNumberBanned, "banned"),
        (errors.PhoneCodeInvalidError(None), app_errors.CodeInvalid, "not right"),
        (errors.PhoneCodeExpiredError(None), app_errors.CodeExpired, "Resend code"),
        (errors.PasswordHashInvalidError(None), app_errors.PasswordInvalid, "password is wrong"),
        (errors.ApiIdInvalidError(None), app_errors.ApiIdInvalid, "my.telegram.org"),
        (errors.FloodWaitError(None, capture=75), app_errors.FloodWait, "1 min 15 s"),
        (errors.PhoneNumberFloodError(None), app_errors.FloodWait, "24 h"),
        (errors.AuthKeyUnregisteredError(None), app_errors.SessionRevoked, "Log in again"),
        (errors.SessionRevokedError(None), app_errors.SessionRevoked, "terminated from another device"),
        (errors.SessionExpiredError(None), app_errors.SessionRevoked, "expired"),
        (errors.UserDeactivatedBanError(None), app_errors.SessionRevoked, "deleted or banned"),
        (errors.AuthKeyDuplicatedError(None), app_errors.SessionRevoked, "two places at once"),
        (errors.AuthKeyNotFound(), app_errors.SessionRevoked, "does not know this session"),
        (errors.FreshResetAuthorisationForbiddenError(None), app_errors.FreshResetForbidden, "24 hours"),
        (errors.TakeoutInitDelayError(None, capture=3600), app_errors.TakeoutInitDelay, "retry in 1 h"),
        (ConnectionError("refused"), app_errors.TelegramUnreachable, "could not be reached"),
        (TimeoutError(), app_errors.TelegramUnreachable, "try again"),
    ],
)
def test_it_translates(telethon_error, app_error, words):
    translated = translate(telethon_error)
    assert type(translated) is app_error
    assert words in translated.message


def test_an_unknown_rpc_error_names_telegram_s_words_and_says_nothing_changed():
    translated = translate(errors.RPCError(None, "SOMETHING_NEW", 400))
    assert "SOMETHING_NEW" in translated.message and "Nothing was changed" in translated.message
