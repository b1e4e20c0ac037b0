"""Telegram's behaviour, as seen through Telethon's public client API: the contract every fake meets.

``TelegramContract`` holds the tests; a fake is held to it by subclassing it and providing a
``telegram`` fixture that returns a :class:`Harness` (a client factory, a manual clock and the
world's knobs). ``TestDemoTelegram`` runs the contract against the in-repo demo Telegram, both
in memory and on a SQLite file; demo-only behaviour is tested below it.
"""

from __future__ import annotations

import datetime
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.crypto import AuthKey
from telethon.sessions import StringSession

pytestmark = pytest.mark.asyncio

ADA, BEA, CY = "9996621001", "9996631002", "9996611003"
ADA_ID, BEA_ID = 7100021001, 7100031002
BEA_PASSWORD = "correct horse battery"
UNREGISTERED_DC2, UNREGISTERED_DC1 = "9996625555", "9996615555"
BANNED = "9996629999"
DAY = 86400


class ManualClock:
    """Time that moves only when a test says so."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """What a contract test needs from a fake Telegram."""

    world: Any  # the knobs: last_code, flood, set_rate_limit, code_ttl, terminate, approve_qr, ...
    clock: ManualClock
    reopen: Callable[[], Any] | None = None  # the same state seen from another process, if the fake persists

    def client(self, session: str = "", world: Any = None) -> TelegramClient:
        client = (world or self.world).client_factory(session, api_id=12345, api_hash="0123456789abcdef" * 2)
        client.flood_sleep_threshold = 0  # a flood wait must surface, never be slept through
        return client


async def connected(telegram: Harness, session: str = "", world: Any = None) -> TelegramClient:
    client = telegram.client(session, world)
    await client.connect()
    return client


async def signed_in(telegram: Harness, phone: str = ADA) -> TelegramClient:
    client = await connected(telegram)
    sent = await client.send_code_request(phone)
    await client.sign_in(phone, telegram.world.last_code(phone), phone_code_hash=sent.phone_code_hash)
    if phone == BEA:
        raise AssertionError("use sign_in_with_password for accounts with 2FA")
    return client


async def session_of(telegram: Harness, phone: str = ADA) -> str:
    client = await signed_in(telegram, phone)
    session = client.session.save()
    await client.disconnect()
    return session


class TelegramContract:
    # -- signing in ---------------------------------------------------------------------------

    async def test_it_signs_in_with_a_code(self, telegram: Harness) -> None:
        client = await connected(telegram)
        assert await client.get_me() is None
        assert not await client.is_user_authorized()
        sent = await client.send_code_request("+" + ADA)
        assert isinstance(sent.type, types.auth.SentCodeTypeApp) and sent.type.length == 5
        assert sent.phone_code_hash
        me = await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert (me.id, me.first_name, me.phone) == (ADA_ID, "Ada", ADA)
        session = client.session.save()
        await client.disconnect()
        assert StringSession(session).dc_id == 2
        assert telegram.world.is_authorized(session)

    async def test_the_demo_code_follows_the_test_number_convention(self, telegram: Harness) -> None:
        client = await connected(telegram)
        await client.send_code_request(ADA)
        assert telegram.world.last_code(ADA) == "22222"
        await client.disconnect()

    async def test_it_asks_for_the_password_of_an_account_with_2fa(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(BEA)
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(BEA, telegram.world.last_code(BEA), phone_code_hash=sent.phone_code_hash)
        assert await client.get_me() is None  # half signed in is not signed in
        password = await client(functions.account.GetPasswordRequest())
        assert password.has_password and password.hint == "four words"
        assert isinstance(
            password.current_algo, types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
        )
        me = await client.sign_in(password=BEA_PASSWORD)
        assert (me.id, me.first_name) == (BEA_ID, "Bea")
        assert telegram.world.is_authorized(client.session.save())
        await client.disconnect()

    async def test_it_refuses_a_wrong_password_and_accepts_the_right_one_after(self, telegram: Harness) -> None:
        client = await connected(telegram)
        await client.send_code_request(BEA)
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(BEA, telegram.world.last_code(BEA))
        with pytest.raises(errors.PasswordHashInvalidError):
            await client.sign_in(password="correct horse staple")
        assert not telegram.world.is_authorized(client.session.save())
        assert (await client.sign_in(password=BEA_PASSWORD)).id == BEA_ID
        await client.disconnect()

    async def test_a_password_proof_is_good_for_one_check_only(self, telegram: Harness) -> None:
        from telethon.password import compute_check

        client = await connected(telegram)
        await client.send_code_request(BEA)
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(BEA, telegram.world.last_code(BEA))
        proof = compute_check(await client(functions.account.GetPasswordRequest()), "wrong password")
        with pytest.raises(errors.PasswordHashInvalidError):
            await client(functions.auth.CheckPasswordRequest(proof))
        with pytest.raises(errors.SrpIdInvalidError):
            await client(functions.auth.CheckPasswordRequest(proof))
        await client.disconnect()

    async def test_phone_migrate_moves_the_session_to_the_home_dc(self, telegram: Harness) -> None:
        client = await connected(telegram)
        first_key = client.session.auth_key.key
        await client.send_code_request(BEA)  # Telethon follows PHONE_MIGRATE_3 by itself
        session = StringSession(client.session.save())
        assert session.dc_id == 3
        assert session.auth_key.key != first_key  # keys belong to one DC
        assert session.server_address == "127.0.0.1" and session.port != 443
        await client.disconnect()

    async def test_an_unregistered_number_needs_sign_up(self, telegram: Harness) -> None:
        client = await connected(telegram)
        await client.send_code_request(UNREGISTERED_DC1)
        assert StringSession(client.session.save()).dc_id == 1
        with pytest.raises(errors.PhoneNumberUnoccupiedError):
            await client.sign_in(UNREGISTERED_DC1, telegram.world.last_code(UNREGISTERED_DC1))
        assert await client.get_me() is None
        await client.disconnect()

    @pytest.mark.parametrize("phone", ["12345", "9996641234", "999662100", "+1 555 0100"])
    async def test_it_rejects_a_number_that_is_not_a_test_number(self, telegram: Harness, phone: str) -> None:
        client = await connected(telegram)
        with pytest.raises(errors.PhoneNumberInvalidError):
            await client.send_code_request(phone)
        await client.disconnect()

    async def test_it_rejects_a_banned_number(self, telegram: Harness) -> None:
        client = await connected(telegram)
        with pytest.raises(errors.PhoneNumberBannedError):
            await client.send_code_request(BANNED)
        await client.disconnect()

    # -- codes --------------------------------------------------------------------------------

    async def test_a_code_only_works_for_the_key_that_asked_for_it(self, telegram: Harness) -> None:
        asker = await connected(telegram)
        sent = await asker.send_code_request(ADA)
        thief = await connected(telegram)
        with pytest.raises(errors.PhoneCodeExpiredError):
            await thief.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert not telegram.world.is_authorized(thief.session.save())
        me = await asker.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert me.id == ADA_ID
        await asker.disconnect()
        await thief.disconnect()

    async def test_a_code_expires(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        code = telegram.world.last_code(ADA)
        telegram.clock.advance(telegram.world.code_ttl + 1)
        with pytest.raises(errors.PhoneCodeExpiredError):
            await client.sign_in(ADA, code, phone_code_hash=sent.phone_code_hash)
        await client.disconnect()

    async def test_a_code_is_good_until_just_before_it_expires(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        telegram.clock.advance(telegram.world.code_ttl - 1)
        me = await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert me.id == ADA_ID
        await client.disconnect()

    async def test_resending_keeps_the_hash_and_renews_the_expiry(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        telegram.clock.advance(telegram.world.code_ttl - 10)
        resent = await client(functions.auth.ResendCodeRequest(ADA, sent.phone_code_hash))
        assert resent.phone_code_hash == sent.phone_code_hash
        telegram.clock.advance(20)
        me = await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert me.id == ADA_ID
        await client.disconnect()

    async def test_resending_from_another_key_is_refused(self, telegram: Harness) -> None:
        asker, other = await connected(telegram), await connected(telegram)
        sent = await asker.send_code_request(ADA)
        with pytest.raises(errors.PhoneCodeExpiredError):
            await other(functions.auth.ResendCodeRequest(ADA, sent.phone_code_hash))
        await asker.disconnect()
        await other.disconnect()

    async def test_the_code_lifetime_can_be_shortened(self, telegram: Harness) -> None:
        telegram.world.code_ttl = 60
        assert telegram.world.code_ttl == 60
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        telegram.clock.advance(61)
        with pytest.raises(errors.PhoneCodeExpiredError):
            await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        await client.disconnect()

    async def test_a_wrong_code_is_invalid_and_the_right_one_still_works(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        with pytest.raises(errors.PhoneCodeInvalidError):
            await client.sign_in(ADA, "12345", phone_code_hash=sent.phone_code_hash)
        assert (await client.sign_in(ADA, "22222", phone_code_hash=sent.phone_code_hash)).id == ADA_ID
        await client.disconnect()

    async def test_a_code_is_consumed_by_signing_in(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        await client.sign_in(ADA, "22222", phone_code_hash=sent.phone_code_hash)
        await client.log_out()
        again = await connected(telegram)
        with pytest.raises(errors.PhoneCodeExpiredError):
            await again(functions.auth.SignInRequest(ADA, sent.phone_code_hash, "22222"))
        await again.disconnect()

    @pytest.mark.parametrize(
        ("phone_code_hash", "code", "error"),
        [
            ("", "22222", errors.PhoneCodeHashEmptyError),
            ("0123456789abcdef01", "22222", errors.PhoneCodeExpiredError),
            (None, "", errors.PhoneCodeEmptyError),
        ],
    )
    async def test_malformed_sign_in_requests_are_refused(
        self, telegram: Harness, phone_code_hash, code, error
    ) -> None:
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        with pytest.raises(error):
            await client(
                functions.auth.SignInRequest(
                    ADA, sent.phone_code_hash if phone_code_hash is None else phone_code_hash, code
                )
            )
        await client.disconnect()

    # -- flood control ------------------------------------------------------------------------

    async def test_a_flood_wait_counts_down_with_the_clock_and_clears(self, telegram: Harness) -> None:
        telegram.world.flood("auth.sendCode", 120)
        client = await connected(telegram)
        with pytest.raises(errors.FloodWaitError) as first:
            await client.send_code_request(ADA)
        assert first.value.seconds == 120
        await client.disconnect()
        telegram.clock.advance(50)
        client = await connected(telegram)  # a new client: Telethon remembers floods per client in real time
        with pytest.raises(errors.FloodWaitError) as second:
            await client.send_code_request(ADA)
        assert second.value.seconds == 70
        await client.disconnect()
        telegram.clock.advance(71)
        client = await connected(telegram)
        assert (await client.send_code_request(ADA)).phone_code_hash
        await client.disconnect()

    async def test_a_flood_on_one_number_leaves_the_others_alone(self, telegram: Harness) -> None:
        telegram.world.flood("auth.sendCode", 300, phone=ADA)
        client = await connected(telegram)
        with pytest.raises(errors.FloodWaitError):
            await client.send_code_request(ADA)
        other = await connected(telegram)
        assert (await other.send_code_request(UNREGISTERED_DC2)).phone_code_hash
        await client.disconnect()
        await other.disconnect()

    async def test_a_rate_limit_floods_beyond_its_count_per_window(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        telegram.world.set_rate_limit("messages.getHistory", 3, 10)
        dialog = await _dialog(client, "Demo News")
        for _ in range(3):
            await client.get_messages(dialog.input_entity, limit=1)
        telegram.clock.advance(4)
        with pytest.raises(errors.FloodWaitError) as flood:
            await client.get_messages(dialog.input_entity, limit=1)
        assert flood.value.seconds == 6
        await client.disconnect()
        telegram.clock.advance(6)
        client = await connected(telegram, client.session.save())
        assert len(await client.get_messages(dialog.input_entity, limit=1)) == 1
        await client.disconnect()

    # -- sessions -----------------------------------------------------------------------------

    async def test_a_session_string_survives_a_new_client(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        client = await connected(telegram, session)
        assert (await client.get_me()).id == ADA_ID
        assert client.session.save() == session
        await client.disconnect()

    async def test_a_session_string_works_from_another_process(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        elsewhere = telegram.reopen()
        client = await connected(telegram, session, world=elsewhere)
        assert (await client.get_me()).id == ADA_ID
        assert elsewhere.is_authorized(session)
        await client.disconnect()

    async def test_logging_out_unregisters_the_key(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        client = await connected(telegram, session)
        assert await client.log_out() is True
        assert not telegram.world.is_authorized(session)
        client = await connected(telegram, session)
        assert await client.get_me() is None
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await client(functions.updates.GetStateRequest())
        await client.disconnect()

    async def test_a_key_the_dc_never_issued_is_not_found(self, telegram: Harness) -> None:
        forged = StringSession()
        forged.set_dc(2, "127.0.0.1", 4432)
        forged.auth_key = AuthKey(os.urandom(256))
        client = telegram.client(forged.save())
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        assert not client.is_connected()
        await client.disconnect()

    async def test_a_key_is_only_known_on_the_dc_that_issued_it(self, telegram: Harness) -> None:
        moved = StringSession(await session_of(telegram))
        moved.set_dc(3, "127.0.0.1", 4433)
        client = telegram.client(moved.save())
        with pytest.raises(errors.AuthKeyNotFound):
            await client.connect()
        await client.disconnect()

    @pytest.mark.parametrize("session", ["1abc", "2" + "A" * 40, "1" + "QUFB" * 5])
    async def test_a_malformed_session_string_fails_when_the_client_is_built(self, telegram: Harness, session) -> None:
        with pytest.raises((ValueError, struct.error)):
            telegram.client(session)

    async def test_the_config_points_every_dc_at_localhost(self, telegram: Harness) -> None:
        client = await connected(telegram)
        config = await client(functions.help.GetConfigRequest())
        assert {(dc.id, dc.ip_address, dc.port) for dc in config.dc_options} == {
            (1, "127.0.0.1", 4431),
            (2, "127.0.0.1", 4432),
            (3, "127.0.0.1", 4433),
        }
        assert config.this_dc == 2
        assert (await client(functions.help.GetNearestDcRequest())).this_dc == 2
        await client.disconnect()

    async def test_connecting_without_a_key_creates_one(self, telegram: Harness) -> None:
        client = telegram.client("")
        assert client.session.auth_key is None
        await client.connect()
        key = client.session.auth_key
        assert key is not None and len(key.key) == 256
        assert StringSession(client.session.save()).auth_key.key == key.key
        await client.disconnect()
        again = await connected(telegram, client.session.save())
        assert again.session.auth_key.key == key.key  # a known key is kept, not replaced
        await again.disconnect()

    # -- authorizations (active sessions) -----------------------------------------------------

    async def test_it_lists_the_accounts_sessions_with_exact_hashes(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        listed = (await client(functions.account.GetAuthorizationsRequest())).authorizations
        current = [a for a in listed if a.current]
        assert len(current) == 1 and current[0].hash == 0
        assert current[0].device_model == client._init_request.device_model
        assert current[0].app_version == client._init_request.app_version
        assert current[0].api_id == 12345
        assert current[0].country == "Demoland" and current[0].ip.startswith("127.0.0.")
        others = {a.hash for a in listed if not a.current}
        stored = telegram.world.authorizations(ADA_ID)
        assert others == {a.hash for a in stored if not a.current}
        assert [a.current for a in stored].count(True) == 1
        assert any(h < 0 for h in others) and any(h > 2**53 for h in others)
        assert all(int(float(h)) != h for h in others)  # a JavaScript number would corrupt them
        assert {a.device_model for a in listed if not a.current} == {"Pixel 8", "Desktop"}
        await client.disconnect()

    async def test_a_fresh_session_may_not_end_other_sessions(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        other = next(
            a for a in (await client(functions.account.GetAuthorizationsRequest())).authorizations if not a.current
        )
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await client(functions.account.ResetAuthorizationRequest(other.hash))
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await client(functions.auth.ResetAuthorizationsRequest())
        telegram.clock.advance(DAY - 60)
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await client(functions.auth.ResetAuthorizationsRequest())
        assert len(telegram.world.authorizations(ADA_ID)) == 3
        await client.disconnect()

    async def test_a_day_old_session_ends_another_session_by_hash(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        telegram.clock.advance(DAY + 1)
        listed = (await client(functions.account.GetAuthorizationsRequest())).authorizations
        victim = next(a for a in listed if not a.current)
        assert await client(functions.account.ResetAuthorizationRequest(victim.hash)) is True
        left = {a.hash for a in (await client(functions.account.GetAuthorizationsRequest())).authorizations}
        assert victim.hash not in left and len(left) == len(listed) - 1
        with pytest.raises(errors.HashInvalidError):
            await client(functions.account.ResetAuthorizationRequest(victim.hash))
        await client.disconnect()

    async def test_ending_all_other_sessions_keeps_the_current_one(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        telegram.world.age_authorizations(ADA_ID, DAY + 1)
        assert await client(functions.auth.ResetAuthorizationsRequest()) is True
        listed = (await client(functions.account.GetAuthorizationsRequest())).authorizations
        assert [a.current for a in listed] == [True]
        assert len(telegram.world.authorizations(ADA_ID)) == 1
        await client.disconnect()

    async def test_a_session_ended_on_another_device_is_unregistered(self, telegram: Harness) -> None:
        session = await session_of(telegram)
        watcher = await connected(telegram, session)
        ours = next(
            a for a in telegram.world.authorizations(ADA_ID) if a.device_model == watcher._init_request.device_model
        )
        telegram.world.terminate(ours.hash)
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await watcher(functions.updates.GetStateRequest())
        assert not telegram.world.is_authorized(session)
        await watcher.disconnect()

    async def test_an_unknown_hash_is_invalid(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        telegram.clock.advance(DAY + 1)
        with pytest.raises(errors.HashInvalidError):
            await client(functions.account.ResetAuthorizationRequest(1234567890123456789))
        await client.disconnect()

    # -- QR login -----------------------------------------------------------------------------

    async def test_a_qr_token_approved_in_the_app_signs_in(self, telegram: Harness) -> None:
        client = await connected(telegram)
        qr = await client.qr_login()
        assert qr.url.startswith("tg://login?token=")
        assert qr.expires > datetime.datetime.fromtimestamp(telegram.clock.now, tz=datetime.UTC)
        again = await client(functions.auth.ExportLoginTokenRequest(client.api_id, client.api_hash, []))
        assert isinstance(again, types.auth.LoginToken)  # nothing happens until someone scans it
        telegram.world.approve_qr(qr.token, ADA)
        result = await client(functions.auth.ExportLoginTokenRequest(client.api_id, client.api_hash, []))
        assert isinstance(result, types.auth.LoginTokenSuccess)
        assert result.authorization.user.id == ADA_ID
        assert (await client.get_me()).id == ADA_ID
        await client.disconnect()

    async def test_an_expired_qr_token_is_replaced_and_cannot_be_approved(self, telegram: Harness) -> None:
        client = await connected(telegram)
        qr = await client.qr_login()
        old = qr.token
        telegram.clock.advance(31)
        await qr.recreate()
        assert qr.token != old
        with pytest.raises(ValueError):
            telegram.world.approve_qr(old, ADA)
        await client.disconnect()

    async def test_a_qr_login_to_an_account_with_2fa_needs_the_password_on_its_home_dc(self, telegram: Harness) -> None:
        client = await connected(telegram)
        qr = await client.qr_login()
        telegram.world.approve_qr(qr.token, BEA)
        result = await client(functions.auth.ExportLoginTokenRequest(client.api_id, client.api_hash, []))
        assert isinstance(result, types.auth.LoginTokenMigrateTo) and result.dc_id == 3
        await client._switch_dc(result.dc_id)  # what Telethon's QRLogin.wait does
        with pytest.raises(errors.SessionPasswordNeededError):
            await client(functions.auth.ImportLoginTokenRequest(result.token))
        with pytest.raises(errors.SessionPasswordNeededError):
            await client(functions.auth.ExportLoginTokenRequest(client.api_id, client.api_hash, []))
        assert (await client.sign_in(password=BEA_PASSWORD)).id == BEA_ID
        assert StringSession(client.session.save()).dc_id == 3
        await client.disconnect()

    # -- chats and messages -------------------------------------------------------------------

    async def test_each_account_has_a_contact_a_group_a_channel_and_a_forum(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        dialogs = [d async for d in client.iter_dialogs()]
        kinds = {d.name: type(d.entity).__name__ for d in dialogs}
        assert kinds == {"Dana Contact": "User", "Demo Family": "Chat", "Demo News": "Channel", "Demo Forum": "Channel"}
        by_name = {d.name: d for d in dialogs}
        assert by_name["Demo News"].entity.broadcast and by_name["Demo Forum"].entity.forum
        assert dialogs[0].pinned and dialogs[0].name == "Dana Contact"
        rest = [d.date for d in dialogs[1:]]
        assert rest == sorted(rest, reverse=True)
        await client.disconnect()

    async def test_dialogs_paginate_without_gaps_or_repeats(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=3, dialogs=230)
        client = await signed_in(telegram)
        dialogs = [d async for d in client.iter_dialogs()]
        assert len(dialogs) == 230 and len({d.id for d in dialogs}) == 230
        dates = [d.date for d in dialogs if not d.pinned]
        assert dates == sorted(dates, reverse=True)
        assert (await client.get_dialogs(limit=0)).total == 230
        await client.disconnect()

    async def test_history_comes_newest_first_and_honours_limits_and_min_id(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=450)
        client = await signed_in(telegram)
        news = (await _dialog(client, "Demo News")).input_entity
        everything = [m.id async for m in client.iter_messages(news, wait_time=0)]
        assert everything == list(range(474, 0, -1))
        assert (await client.get_messages(news, limit=0)).total == 474
        assert [m.id async for m in client.iter_messages(news, limit=150, wait_time=0)] == list(range(474, 324, -1))
        assert [m.id async for m in client.iter_messages(news, min_id=400, wait_time=0)] == list(range(474, 400, -1))
        assert [m.id async for m in client.iter_messages(news, max_id=11, wait_time=0)] == list(range(10, 0, -1))
        assert [
            m.id async for m in client.iter_messages(news, reverse=True, min_id=300, limit=120, wait_time=0)
        ] == list(range(301, 421))
        assert [m.id async for m in client.iter_messages(news, offset_id=200, limit=3, wait_time=0)] == [199, 198, 197]
        await client.disconnect()

    async def test_history_windows_follow_add_offset(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await _dialog(client, "Demo News")).input_entity

        async def window(offset_id: int, add_offset: int, limit: int, max_id: int = 0, min_id: int = 0) -> list[int]:
            result = await client(
                functions.messages.GetHistoryRequest(
                    peer=news,
                    offset_id=offset_id,
                    offset_date=None,
                    add_offset=add_offset,
                    limit=limit,
                    max_id=max_id,
                    min_id=min_id,
                    hash=0,
                )
            )
            assert result.count == 24
            return [m.id for m in result.messages]

        assert await window(20, 0, 3) == [19, 18, 17]
        assert await window(20, 2, 3) == [17, 16, 15]
        assert await window(20, -2, 4) == [21, 20, 19, 18]
        assert await window(10, -6, 3) == [15, 14, 13]
        assert await window(0, 0, 5, max_id=8, min_id=4) == [7, 6, 5]
        assert await window(3, 0, 10) == [2, 1]
        await client.disconnect()

    async def test_history_can_start_at_a_date(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        family = (await _dialog(client, "Demo Family")).input_entity
        messages = [m async for m in client.iter_messages(family, wait_time=0)]
        middle = messages[10]
        older = [m.id async for m in client.iter_messages(family, offset_date=middle.date, wait_time=0)]
        assert older == [m.id for m in messages if m.date < middle.date]
        await client.disconnect()

    async def test_messages_carry_what_an_archive_needs(self, telegram: Harness) -> None:
        telegram.world.seed_messages(ADA, per_dialog=200)
        client = await signed_in(telegram)
        news = [m async for m in client.iter_messages((await _dialog(client, "Demo News")).input_entity, wait_time=0)]
        family = [
            m async for m in client.iter_messages((await _dialog(client, "Demo Family")).input_entity, wait_time=0)
        ]
        forum = [m async for m in client.iter_messages((await _dialog(client, "Demo Forum")).input_entity, wait_time=0)]
        assert all(m.views is not None and m.post for m in news if isinstance(m, types.Message))
        assert any(
            isinstance(m.action, types.MessageActionChannelCreate) for m in news if isinstance(m, types.MessageService)
        )
        assert any(
            isinstance(m.action, types.MessageActionChatCreate) for m in family if isinstance(m, types.MessageService)
        )
        assert any(
            isinstance(m.action, types.MessageActionTopicCreate) for m in forum if isinstance(m, types.MessageService)
        )
        everything = news + family + forum
        assert any(m.photo for m in everything) and any(m.document for m in everything)
        documents = [m.file for m in everything if m.document]
        assert all(f.name and f.size and f.mime_type for f in documents)
        assert any(m.edit_date for m in everything) and any(m.fwd_from for m in everything)
        replies = [m for m in family if m.reply_to and not getattr(m.reply_to, "forum_topic", False)]
        ids = {m.id for m in family}
        assert replies and all(m.reply_to.reply_to_msg_id in ids for m in replies)
        albums: dict[int, list] = {}
        for m in everything:
            if m.grouped_id:
                albums.setdefault(m.grouped_id, []).append(m)
        assert albums and all(len(group) > 1 for group in albums.values())
        assert any(m.reply_to and m.reply_to.forum_topic for m in forum)
        senders = {m.sender_id for m in family if m.sender_id}
        assert ADA_ID in senders and len(senders) == 3
        assert all(m.sender is not None for m in family if m.sender_id)  # the users came with the messages
        await client.disconnect()

    async def test_messages_can_be_fetched_by_id(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await _dialog(client, "Demo News")).input_entity
        fetched = await client.get_messages(news, ids=[3, 5, 99999])
        assert [m.id if m else None for m in fetched] == [3, 5, None]
        family = await _dialog(client, "Demo Family")
        newest = (await client.get_messages(family.input_entity, limit=1))[0]
        again = await client.get_messages(family.input_entity, ids=newest.id)
        assert again.id == newest.id and again.message == newest.message
        await client.disconnect()

    async def test_the_forum_lists_its_topics(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        forum = (await _dialog(client, "Demo Forum")).input_entity
        topics = await client(
            functions.messages.GetForumTopicsRequest(
                peer=forum, offset_date=None, offset_id=0, offset_topic=0, limit=10
            )
        )
        assert [t.title for t in topics.topics][0] == "General" and topics.count == len(topics.topics) == 4
        in_topics = {
            m.reply_to.reply_to_msg_id
            async for m in client.iter_messages(forum, wait_time=0)
            if m.reply_to and m.reply_to.forum_topic
        }
        assert in_topics <= {t.id for t in topics.topics} and in_topics
        await client.disconnect()

    async def test_a_forged_access_hash_is_refused(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        news = (await _dialog(client, "Demo News")).input_entity
        with pytest.raises(errors.ChannelInvalidError):
            await client(
                functions.messages.GetHistoryRequest(
                    types.InputPeerChannel(news.channel_id, news.access_hash ^ 1), 0, None, 0, 1, 0, 0, 0
                )
            )
        await client.disconnect()

    async def test_history_needs_a_signed_in_key(self, telegram: Harness) -> None:
        client = await connected(telegram)
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await client(functions.messages.GetDialogsRequest(None, 0, types.InputPeerEmpty(), 10, 0))
        await client.disconnect()

    # -- takeout ------------------------------------------------------------------------------

    async def test_takeout_waits_until_the_user_allows_it(self, telegram: Harness) -> None:
        client = await signed_in(telegram)
        with pytest.raises(errors.TakeoutInitDelayError) as delay:
            async with client.takeout():
                pass
        assert delay.value.seconds > 3600
        telegram.world.approve_takeout(ADA)
        async with client.takeout(finalize=True) as takeout:
            news = (await _dialog(client, "Demo News")).input_entity
            assert len(await takeout.get_messages(news, limit=5)) == 5
        assert client.session.takeout_id is None
        await client.disconnect()


async def _dialog(client: TelegramClient, name: str):
    async for dialog in client.iter_dialogs():
        if dialog.name == name:
            return dialog
    raise AssertionError(f"no dialog {name!r}")


class TestDemoTelegram(TelegramContract):
    """The demo Telegram, private in memory and on a SQLite file shared with other processes."""

    @pytest.fixture(params=["memory", "sqlite"])
    def telegram(self, request, tmp_path) -> Harness:
        from sessions_app.telegram.fake import DemoTelegram

        clock = ManualClock()
        if request.param == "memory":
            world = DemoTelegram(None, clock=clock)
            # In memory, "another process" is another client on the same private world.
            return Harness(world=world, clock=clock, reopen=lambda: world)
        path = str(tmp_path / "demo-telegram.sqlite3")
        return Harness(
            world=DemoTelegram(path, clock=clock), clock=clock, reopen=lambda: DemoTelegram(path, clock=clock)
        )


# -- the demo Telegram beyond the contract ------------------------------------------------------


@pytest.fixture
def demo() -> Harness:
    from sessions_app.telegram.fake import DemoTelegram

    clock = ManualClock()
    return Harness(world=DemoTelegram(None, clock=clock), clock=clock)


async def test_the_demo_answers_unsupported_requests_with_a_clear_error(demo: Harness) -> None:
    client = await connected(demo)
    with pytest.raises(errors.BadRequestError) as refused:
        await client(functions.contacts.GetContactsRequest(hash=0))
    assert refused.value.message == "METHOD_NOT_SUPPORTED_BY_DEMO"
    await client.disconnect()


async def test_the_demo_accounts_follow_the_test_number_convention() -> None:
    from sessions_app.telegram.fake import DEMO_ACCOUNTS

    for account in DEMO_ACCOUNTS:
        assert account.phone.startswith("99966") and int(account.phone[5]) == account.dc
        assert account.code == str(account.dc) * 5
    assert [a.password is not None for a in DEMO_ACCOUNTS] == [False, True, False]


async def test_a_shared_state_file_is_seeded_once(tmp_path) -> None:
    from sessions_app.telegram.fake import DemoTelegram

    path = str(tmp_path / "state.sqlite3")
    first = DemoTelegram(path)
    hashes = {a.hash for a in first.authorizations(ADA_ID)}
    second = DemoTelegram(path)
    assert {a.hash for a in second.authorizations(ADA_ID)} == hashes and len(hashes) == 2


async def test_a_state_file_from_an_older_schema_is_rebuilt(tmp_path) -> None:
    import sqlite3

    from sessions_app.telegram.fake import DemoTelegram

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE auth_keys (key_id INTEGER PRIMARY KEY)")
    world = DemoTelegram(str(path), clock=ManualClock())
    assert len(world.authorizations(ADA_ID)) == 2


async def test_terminate_accepts_a_session_string_or_an_auth_key_id(demo: Harness) -> None:
    by_string, by_key = await session_of(demo), await session_of(demo)
    demo.world.terminate(by_string)
    demo.world.terminate(StringSession(by_key).auth_key.key_id)
    assert not demo.world.is_authorized(by_string) and not demo.world.is_authorized(by_key)
    with pytest.raises(LookupError):
        demo.world.terminate(by_key)


async def test_terminate_session_says_whether_there_was_a_session_to_end(demo: Harness) -> None:
    session = await session_of(demo)
    assert demo.world.terminate_session(session) is True
    assert demo.world.terminate_session(session) is False


def _signed(key_id: int) -> int:
    return key_id - 2**64 if key_id >= 2**63 else key_id


async def test_the_current_authorization_is_the_one_that_spoke_last(demo: Harness) -> None:
    first, second = await session_of(demo), await session_of(demo)

    async def speak(session: str) -> list[int]:
        client = await connected(demo, session)
        await client.get_me()
        await client.disconnect()
        return [a.auth_key_id for a in demo.world.authorizations(ADA_ID) if a.current]

    assert await speak(first) == [_signed(StringSession(first).auth_key.key_id)]
    assert await speak(second) == [_signed(StringSession(second).auth_key.key_id)]


async def test_a_hundred_thousand_messages_seed_in_seconds_and_read_by_index(demo: Harness) -> None:
    started = time.perf_counter()
    demo.world.seed_messages(ADA, per_dialog=100_000, dialogs=1)
    assert time.perf_counter() - started < 10
    with demo.world.store.tx() as db:
        plan = " ".join(
            row[3]
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE owner = ? AND peer = ? AND id < ? AND id > ?"
                " ORDER BY id DESC LIMIT 100",
                (ADA_ID, 7200000001, 50_000, 0),
            )
        )
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan
    client = await signed_in(demo)
    contact = (await _dialog(client, "Dana Contact")).input_entity
    started = time.perf_counter()
    page = await client.get_messages(contact, limit=100, offset_id=60_000)
    assert time.perf_counter() - started < 1
    assert page.total == 100_024 and [m.id for m in page] == list(range(59_999, 59_899, -1))
    await client.disconnect()


async def test_from_settings_reuses_one_world_per_state_file(settings, tmp_path) -> None:
    from sessions_app.telegram.fake import DemoTelegram, demo_client_factory

    settings.TELEGRAM_DEMO_STATE = str(tmp_path / "nested" / "demo.sqlite3")
    assert DemoTelegram.from_settings() is DemoTelegram.from_settings()
    client = demo_client_factory("", api_id=0, api_hash="")
    await client.connect()
    assert await client.get_me() is None
    assert (await client.send_code_request(CY)).phone_code_hash  # migrates to DC1
    assert StringSession(client.session.save()).dc_id == 1
    await client.disconnect()
