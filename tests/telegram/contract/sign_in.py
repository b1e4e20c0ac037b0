"""The contract: signing in with a code and a 2FA password, and the life of a login code."""

from __future__ import annotations

import pytest
from telethon import errors, functions, types
from telethon.sessions import StringSession

from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    BANNED,
    BEA,
    BEA_ID,
    BEA_PASSWORD,
    UNREGISTERED_DC1,
    Harness,
    connected,
)


class SignInContract:
    """Signing in: codes, 2FA, PHONE_MIGRATE, refused numbers."""

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
