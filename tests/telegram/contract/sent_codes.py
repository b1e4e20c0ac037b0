"""The contract: every way Telegram sends a login code (auth.sentCodeType*), and the login email setup.

Raw requests, not Telethon's send_code_request/sign_in: those only know codes typed as phone_code,
and crash on the answers only official apps get (auth.sentCodePaymentRequired has no `type`).
"""

from __future__ import annotations

import pytest
from telethon import TelegramClient, errors, functions, types

from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    DEE,
    DEE_EMAIL,
    EVE,
    EVE_ID,
    FAY,
    FAY_PHRASE,
    FAY_WORD,
    GUS,
    HAL,
    IVY,
    Harness,
    connected,
)

EVE_EMAIL = "eve@example.org"


async def send_code(client: TelegramClient, phone: str) -> types.auth.TypeSentCode:
    return await client(functions.auth.SendCodeRequest(phone, client.api_id, client.api_hash, types.CodeSettings()))


async def resend(client: TelegramClient, phone: str, phone_code_hash: str) -> types.auth.TypeSentCode:
    return await client(functions.auth.ResendCodeRequest(phone, phone_code_hash))


def by_email(phone: str, phone_code_hash: str, code: str) -> functions.auth.SignInRequest:
    return functions.auth.SignInRequest(phone, phone_code_hash, email_verification=types.EmailVerificationCode(code))


def login_setup(phone: str, phone_code_hash: str) -> types.EmailVerifyPurposeLoginSetup:
    return types.EmailVerifyPurposeLoginSetup(phone, phone_code_hash)


def refused_with(raised: pytest.ExceptionInfo[errors.RPCError]) -> str:
    return str(raised.value.message)


class SentCodesContract:
    """Codes by email, email setup, words and phrases, calls, Fragment, and what only official apps get."""

    # -- by email -------------------------------------------------------------------------------

    async def test_an_account_with_a_login_email_gets_its_code_by_email(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, DEE)
        assert isinstance(sent.type, types.auth.SentCodeTypeEmailCode)
        assert (sent.type.email_pattern, sent.type.length) == ("d***@example.com", 5)
        assert sent.next_type is None
        assert telegram.world.login_email(DEE) == DEE_EMAIL
        code = telegram.world.last_code(DEE)
        authorization = await client(by_email(DEE, sent.phone_code_hash, code))
        assert authorization.user.first_name == "Dee"
        assert telegram.world.is_authorized(client.session.save())
        await client.disconnect()

    async def test_an_emailed_code_goes_in_email_verification_only(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, DEE)
        code = telegram.world.last_code(DEE)
        with pytest.raises(errors.PhoneCodeInvalidError):
            await client(functions.auth.SignInRequest(DEE, sent.phone_code_hash, phone_code=code))
        with pytest.raises(errors.PhoneCodeEmptyError):
            await client(functions.auth.SignInRequest(DEE, sent.phone_code_hash))
        with pytest.raises(errors.BadRequestError) as wrong:
            await client(by_email(DEE, sent.phone_code_hash, "12345"))
        assert refused_with(wrong) == "EMAIL_CODE_INVALID"
        assert not telegram.world.is_authorized(client.session.save())
        assert (await client(by_email(DEE, sent.phone_code_hash, code))).user.first_name == "Dee"
        await client.disconnect()

    async def test_a_phone_code_sent_as_email_verification_is_refused(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, ADA)
        with pytest.raises(errors.PhoneCodeEmptyError):
            await client(by_email(ADA, sent.phone_code_hash, telegram.world.last_code(ADA)))
        signed = await client(functions.auth.SignInRequest(ADA, sent.phone_code_hash, telegram.world.last_code(ADA)))
        assert signed.user.id == ADA_ID
        await client.disconnect()

    async def test_there_is_no_other_way_to_resend_an_emailed_code(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, DEE)
        with pytest.raises(errors.SendCodeUnavailableError):
            await resend(client, DEE, sent.phone_code_hash)
        await client.disconnect()

    # -- a login email to set up first ------------------------------------------------------------

    async def test_an_account_without_a_login_email_sets_one_up_then_gets_the_code_there(
        self, telegram: Harness
    ) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)  # PHONE_MIGRATE_3 on the way, as for any number
        assert isinstance(sent.type, types.auth.SentCodeTypeSetUpEmailRequired)
        assert client.session.dc_id == 3
        emailed = await client(
            functions.account.SendVerifyEmailCodeRequest(login_setup(EVE, sent.phone_code_hash), EVE_EMAIL)
        )
        assert (emailed.email_pattern, emailed.length) == ("e***@example.org", 6)
        confirm = telegram.world.last_email_code(EVE_EMAIL)
        with pytest.raises(errors.CodeInvalidError):
            await client(
                functions.account.VerifyEmailRequest(
                    login_setup(EVE, sent.phone_code_hash), types.EmailVerificationCode("000000")
                )
            )
        verified = await client(
            functions.account.VerifyEmailRequest(
                login_setup(EVE, sent.phone_code_hash), types.EmailVerificationCode(confirm)
            )
        )
        assert isinstance(verified, types.account.EmailVerifiedLogin) and verified.email == EVE_EMAIL
        next_code = verified.sent_code
        assert isinstance(next_code.type, types.auth.SentCodeTypeEmailCode)
        assert next_code.type.email_pattern == "e***@example.org"
        assert telegram.world.login_email(EVE) == EVE_EMAIL
        login_code = telegram.world.last_code(EVE)
        assert login_code != confirm
        with pytest.raises(errors.PhoneCodeExpiredError):  # the hash before the setup is spent
            await client(by_email(EVE, sent.phone_code_hash, login_code))
        authorization = await client(by_email(EVE, next_code.phone_code_hash, login_code))
        assert authorization.user.id == EVE_ID
        await client.disconnect()

    async def test_once_set_up_the_login_email_gets_the_next_logins_code(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)
        purpose = login_setup(EVE, sent.phone_code_hash)
        await client(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))
        code = types.EmailVerificationCode(telegram.world.last_email_code(EVE_EMAIL))
        await client(functions.account.VerifyEmailRequest(purpose, code))
        await client.disconnect()
        again = await connected(telegram)
        sent = await send_code(again, EVE)
        assert isinstance(sent.type, types.auth.SentCodeTypeEmailCode)
        assert sent.type.email_pattern == "e***@example.org"
        await again.disconnect()

    async def test_a_malformed_login_email_is_email_invalid(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)
        with pytest.raises(errors.EmailInvalidError):
            await client(functions.account.SendVerifyEmailCodeRequest(login_setup(EVE, sent.phone_code_hash), "eve@"))
        await client.disconnect()

    async def test_a_login_email_at_a_refused_provider_is_email_not_allowed(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)
        purpose = login_setup(EVE, sent.phone_code_hash)
        with pytest.raises(errors.BadRequestError) as refused:
            await client(functions.account.SendVerifyEmailCodeRequest(purpose, "eve@disposable.example"))
        assert refused_with(refused) == "EMAIL_NOT_ALLOWED"
        assert (await client(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))).length == 6
        await client.disconnect()

    async def test_the_emailed_confirmation_code_expires_before_the_login_attempt(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)
        purpose = login_setup(EVE, sent.phone_code_hash)
        await client(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))
        code = types.EmailVerificationCode(telegram.world.last_email_code(EVE_EMAIL))
        telegram.clock.advance(telegram.world.code_ttl + 1)
        with pytest.raises(errors.EmailVerifyExpiredError):
            await client(functions.account.VerifyEmailRequest(purpose, code))
        await client(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))  # a new one, same attempt
        fresh = types.EmailVerificationCode(telegram.world.last_email_code(EVE_EMAIL))
        assert isinstance(
            await client(functions.account.VerifyEmailRequest(purpose, fresh)), types.account.EmailVerifiedLogin
        )
        await client.disconnect()

    async def test_email_setup_needs_the_key_and_the_code_it_was_asked_for(self, telegram: Harness) -> None:
        asker, other = await connected(telegram), await connected(telegram)
        sent = await send_code(asker, EVE)
        purpose = login_setup(EVE, sent.phone_code_hash)
        with pytest.raises(errors.PhoneHashExpiredError):
            await other(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))
        ada_sent = await send_code(asker, ADA)
        with pytest.raises(errors.BadRequestError) as not_needed:
            await asker(
                functions.account.SendVerifyEmailCodeRequest(login_setup(ADA, ada_sent.phone_code_hash), EVE_EMAIL)
            )
        assert refused_with(not_needed) == "EMAIL_NOT_ALLOWED"
        await asker.disconnect()
        await other.disconnect()

    async def test_the_email_setup_continues_on_another_process_of_the_fake(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, EVE)
        session = client.session.save()
        await client.disconnect()
        later = await connected(telegram, session, telegram.reopen() if telegram.reopen else telegram.world)
        purpose = login_setup(EVE, sent.phone_code_hash)
        await later(functions.account.SendVerifyEmailCodeRequest(purpose, EVE_EMAIL))
        code = types.EmailVerificationCode(telegram.world.last_email_code(EVE_EMAIL))
        verified = await later(functions.account.VerifyEmailRequest(purpose, code))
        signed = await later(by_email(EVE, verified.sent_code.phone_code_hash, telegram.world.last_code(EVE)))
        assert signed.user.id == EVE_ID
        await later.disconnect()

    # -- words, phrases, calls, Fragment -------------------------------------------------------------

    async def test_a_word_then_a_phrase_then_calls_each_resend_the_next_way(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, FAY)
        assert isinstance(sent.type, types.auth.SentCodeTypeSmsWord) and sent.type.beginning == FAY_WORD[0]
        assert isinstance(sent.next_type, types.auth.CodeTypeSms)
        assert telegram.world.last_code(FAY) == FAY_WORD
        phrase = await resend(client, FAY, sent.phone_code_hash)
        assert isinstance(phrase.type, types.auth.SentCodeTypeSmsPhrase)
        assert phrase.type.beginning == FAY_PHRASE.split()[0]
        assert isinstance(phrase.next_type, types.auth.CodeTypeMissedCall)
        assert telegram.world.last_code(FAY) == FAY_PHRASE
        missed = await resend(client, FAY, sent.phone_code_hash)
        assert isinstance(missed.type, types.auth.SentCodeTypeMissedCall)
        assert missed.type.prefix and missed.type.length == 5 and isinstance(missed.next_type, types.auth.CodeTypeCall)
        call = await resend(client, FAY, sent.phone_code_hash)
        assert isinstance(call.type, types.auth.SentCodeTypeCall) and call.next_type is None
        with pytest.raises(errors.SendCodeUnavailableError):
            await resend(client, FAY, sent.phone_code_hash)
        assert call.phone_code_hash == sent.phone_code_hash
        signed = await client(functions.auth.SignInRequest(FAY, sent.phone_code_hash, telegram.world.last_code(FAY)))
        assert signed.user.first_name == "Fay"
        await client.disconnect()

    async def test_a_word_is_checked_as_the_word_sent(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, FAY)
        for wrong in ("22222", "orbits", "harbor"):
            with pytest.raises(errors.PhoneCodeInvalidError):
                await client(functions.auth.SignInRequest(FAY, sent.phone_code_hash, wrong))
        signed = await client(functions.auth.SignInRequest(FAY, sent.phone_code_hash, FAY_WORD.upper()))
        assert signed.user.first_name == "Fay"
        await client.disconnect()

    async def test_a_phrase_is_checked_without_case_or_extra_spaces(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, FAY)
        await resend(client, FAY, sent.phone_code_hash)
        with pytest.raises(errors.PhoneCodeInvalidError):
            await client(functions.auth.SignInRequest(FAY, sent.phone_code_hash, FAY_WORD))
        typed = "  " + FAY_PHRASE.title().replace(" ", "   ")
        signed = await client(functions.auth.SignInRequest(FAY, sent.phone_code_hash, typed))
        assert signed.user.first_name == "Fay"
        await client.disconnect()

    async def test_a_fragment_number_gets_its_code_on_fragment(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, IVY)
        assert client.session.dc_id == 1
        assert isinstance(sent.type, types.auth.SentCodeTypeFragmentSms)
        assert sent.type.url.startswith("https://fragment.com/") and sent.type.length == 5
        assert isinstance(sent.next_type, types.auth.CodeTypeCall)
        signed = await client(functions.auth.SignInRequest(IVY, sent.phone_code_hash, telegram.world.last_code(IVY)))
        assert signed.user.first_name == "Ivy"
        await client.disconnect()

    # -- what only official apps can follow ----------------------------------------------------------

    async def test_a_firebase_only_number_names_no_other_way(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, GUS)
        assert isinstance(sent.type, types.auth.SentCodeTypeFirebaseSms) and sent.next_type is None
        with pytest.raises(errors.SendCodeUnavailableError):
            await resend(client, GUS, sent.phone_code_hash)
        await client.disconnect()

    async def test_a_number_that_must_pay_for_its_code_gets_no_code_type(self, telegram: Harness) -> None:
        client = await connected(telegram)
        sent = await send_code(client, HAL)
        assert isinstance(sent, types.auth.SentCodePaymentRequired)
        assert sent.phone_code_hash and sent.support_email_address and not hasattr(sent, "type")
        await client.disconnect()
