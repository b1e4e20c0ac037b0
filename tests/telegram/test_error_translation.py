"""Every Telegram failure a person can meet becomes a sentence that says what to do next."""

from __future__ import annotations

import datetime

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
        (errors.UserDeactivatedBanError(None), app_errors.AccountBanned, "Appeal from the official Telegram app"),
        (errors.UserDeactivatedError(None), app_errors.AccountBanned, "Log in another account"),
        (errors.FrozenMethodInvalidError(None), app_errors.AccountFrozen, "frozen"),
        (errors.RPCError(None, "FROZEN_METHOD_INVALID", 420), app_errors.AccountFrozen, "Appeal"),
        (errors.RPCError(None, "FROZEN_PARTICIPANT_MISSING", 400), app_errors.AccountFrozen, "frozen"),
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


def test_a_ban_keeps_the_keys_and_says_whether_the_account_is_gone():
    banned = translate(errors.UserDeactivatedBanError(None))
    deleted = translate(errors.UserDeactivatedError(None))
    assert isinstance(banned, app_errors.AccountBanned) and not banned.deleted
    assert isinstance(deleted, app_errors.AccountBanned) and deleted.deleted
    # Not a revoked session: the keys are kept, an unbanned account's keys work again.
    assert not isinstance(banned, app_errors.SessionRevoked) and not isinstance(deleted, app_errors.SessionRevoked)
    assert "work again" in banned.message and "deleted" in deleted.message


def test_a_frozen_account_names_the_appeal_link_and_the_end_of_the_freeze():
    until = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.UTC)
    frozen = app_errors.AccountFrozen(appeal_url="https://t.me/spambot", until=until)
    assert (frozen.appeal_url, frozen.until) == ("https://t.me/spambot", until)
    assert "https://t.me/spambot" in frozen.message and "2026-03-01 12:00 UTC" in frozen.message
    plain = translate(errors.FrozenMethodInvalidError(None))
    assert isinstance(plain, app_errors.AccountFrozen) and plain.appeal_url == "" and plain.until is None
    assert not app_errors.is_frozen_error(errors.FloodWaitError(None, capture=5))
