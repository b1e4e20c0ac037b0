"""account_view: one look at the account for the security watch, through the real client on the demo Telegram.

Two requests in the normal case (account.getAuthorizations, account.getPassword); help.getAppConfig
only when the account turns out frozen. Bans come out as AccountBanned, never as a revoked session.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from telethon.tl import functions, types

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.account import (
    AccountSecurity,
    Authorization,
    account_freeze,
    account_view,
    list_authorizations,
)
from sessions_app.telegram.client import DEMO_CREDENTIALS, run
from sessions_app.telegram.fake import security
from sessions_app.telegram.freeze import AccountFreeze, freeze_of, frozen_error
from tests.conftest import ADA, BEA, bea_session, demo_session

APPEAL = "https://t.me/spambot"
WRAPPERS = (functions.InvokeWithLayerRequest, functions.InitConnectionRequest, functions.InvokeWithoutUpdatesRequest)


@pytest.fixture
def asked(telegram, monkeypatch) -> list[str]:
    """The requests the demo Telegram answers from now on, by Telegram's method name (connection setup left out)."""
    names: list[str] = []
    invoke = telegram._invoke

    def counting(dc: int, auth_key: Any, request: Any) -> Any:
        inner = request
        while isinstance(inner, WRAPPERS):
            inner = inner.query
        name = type(inner).__module__.rsplit(".", 1)[-1] + "." + type(inner).__name__.removesuffix("Request")
        if name != "help.GetConfig":
            names.append(name)
        return invoke(dc, auth_key, request)

    monkeypatch.setattr(telegram, "_invoke", counting)
    return names


def view_of(session: str):
    return account_view(session=session, api=DEMO_CREDENTIALS)


def test_it_reads_the_sessions_and_two_step_verification_with_one_request_more_than_the_sessions(telegram, asked):
    session = bea_session()
    asked.clear()
    sessions_only = list_authorizations(session=session, api=DEMO_CREDENTIALS)
    baseline = list(asked)  # connecting and account.getAuthorizations
    assert baseline[-1] == "account.GetAuthorizations"
    asked.clear()
    view = view_of(session)
    assert asked == [*baseline, "account.GetPassword"]
    assert view.freeze is None
    assert view.security == security_of(two_step=True)
    assert {a.hash for a in view.authorizations} == {a.hash for a in sessions_only}
    assert sum(a.current for a in view.authorizations) == 1
    assert {a.device_model for a in view.authorizations} >= {"Pixel 8", "Desktop"}
    assert all(a.api_id for a in view.authorizations)


def security_of(**fields: Any) -> AccountSecurity:
    defaults = {"two_step": False, "recovery_email": False, "login_email": "", "email_pending": ""}
    return AccountSecurity(**{**defaults, **fields})


def test_it_follows_two_step_verification_and_its_emails(telegram):
    session = bea_session()
    telegram.recovery_email_set(BEA, "bea@example.com")
    assert view_of(session).security == security_of(two_step=True, recovery_email=True)
    telegram.two_step_off(BEA)
    assert view_of(session).security == security_of()
    with telegram.store.tx() as db:  # what account.verifyEmail leaves once a login email is confirmed
        db.execute("UPDATE accounts SET login_email = 'ada@example.com' WHERE phone = ?", (ADA.lstrip("+"),))
    assert view_of(demo_session(ADA)).security == security_of(login_email="a***@example.com")


def test_a_foreign_login_shows_with_its_api_id_and_place(telegram):
    session = demo_session(ADA)
    auth_hash = telegram.foreign_login(ADA, api_id=2040, app_name="Telegram Desktop", ip="192.0.2.9", country="FR")
    foreign = next(a for a in view_of(session).authorizations if a.hash == auth_hash)
    assert (foreign.api_id, foreign.app_name, foreign.ip, foreign.country) == (
        2040,
        "Telegram Desktop",
        "192.0.2.9",
        "FR",
    )
    assert not foreign.current and foreign.official_app


def test_authorizations_stored_before_api_id_was_kept_still_load():
    stored = {f.name: None for f in dataclasses.fields(Authorization) if f.name not in ("api_id", "unconfirmed")}
    stored.update(hash=1, current=False, official_app=False)
    assert Authorization(**stored).api_id == 0


@pytest.mark.parametrize(("deleted", "words"), [(False, "Appeal"), (True, "Log in another account")])
def test_a_banned_or_deleted_account_raises_account_banned_and_keeps_its_key(telegram, deleted, words):
    session = demo_session(ADA)
    telegram.ban(ADA, deleted=deleted)
    with pytest.raises(app_errors.AccountBanned) as banned:
        view_of(session)
    assert banned.value.deleted is deleted and words in banned.value.message
    assert telegram.is_authorized(session)
    telegram.unban(ADA)
    assert view_of(session).authorizations


def test_a_frozen_account_comes_back_with_the_freeze_after_one_more_request(telegram, asked, clock):
    session = demo_session(ADA)
    until = datetime.datetime.fromtimestamp(int(clock() + 30 * 86400), tz=datetime.UTC)
    telegram.freeze(ADA, appeal_url=APPEAL, until=until)
    asked.clear()
    list_authorizations(session=session, api=DEMO_CREDENTIALS)
    baseline = list(asked)
    asked.clear()
    view = view_of(session)
    assert asked == [*baseline, "account.GetPassword", "help.GetAppConfig"]
    assert view.freeze is not None and (view.freeze.appeal_url, view.freeze.until) == (APPEAL, until)
    assert view.freeze.since is not None and view.security is None and view.authorizations
    assert account_freeze(session=session, api=DEMO_CREDENTIALS) == view.freeze
    telegram.unfreeze(ADA)
    assert view_of(session).freeze is None
    assert account_freeze(session=session, api=DEMO_CREDENTIALS) is None


def test_a_freeze_that_hides_even_the_sessions_raises_account_frozen_with_the_appeal_link(telegram, monkeypatch):
    """A Telegram that refuses getAuthorizations too: a view without sessions would look as if all were gone."""
    monkeypatch.setattr(security, "FROZEN_ALLOWED", security.FROZEN_ALLOWED - {"account.getAuthorizations"})
    session = demo_session(ADA)
    telegram.freeze(ADA, appeal_url=APPEAL)
    with pytest.raises(app_errors.AccountFrozen) as frozen:
        view_of(session)
    assert frozen.value.appeal_url == APPEAL and APPEAL in frozen.value.message and frozen.value.until is None


def test_a_connection_that_fails_is_still_telegram_unreachable(telegram):
    session = demo_session(ADA)
    telegram.drop_connections(session, after_requests=1, down_seconds=60)
    with pytest.raises(app_errors.TelegramUnreachable):
        view_of(session)


def test_the_error_for_a_refused_request_carries_the_appeal_link_when_telegram_tells_it(telegram):
    session = demo_session(ADA)
    plain, _ = run(session, DEMO_CREDENTIALS, frozen_error)
    assert plain.appeal_url == "" and "official Telegram app" in plain.message  # not frozen: nothing to add
    telegram.freeze(ADA, appeal_url=APPEAL, until=datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC))
    detailed, _ = run(session, DEMO_CREDENTIALS, frozen_error)
    assert detailed.appeal_url == APPEAL and "2030-01-02 03:04 UTC" in detailed.message


def test_a_config_not_modified_answer_says_nothing_about_a_freeze():
    assert freeze_of(types.help.AppConfigNotModified()) is None
    config = types.JsonObject([types.JsonObjectValue("freeze_since_date", types.JsonNumber(1_760_000_000.0))])
    assert freeze_of(types.help.AppConfig(hash=1, config=config)) == AccountFreeze(
        since=datetime.datetime(2025, 10, 9, 8, 53, 20, tzinfo=datetime.UTC), until=None, appeal_url=""
    )
