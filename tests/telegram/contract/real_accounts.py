"""The contract: what real accounts do to a fleet. Terminate-all from the owner's phone, a key just
minted that stumbles while it propagates, a login waiting for its 2FA password, and the password
checked from a signed-in session.

Knobs: ``terminate_all_from_phone(phone)`` (the account's official phone session ends every other
one) and ``stumble_next_minted_keys(count)``.
"""

from __future__ import annotations

import pytest
from telethon import errors, functions
from telethon.password import compute_check

from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    BEA,
    BEA_ID,
    BEA_PASSWORD,
    Harness,
    authorizations,
    connected,
    export_request,
    session_of,
    signed_in,
)


class RealAccountsContract:
    async def test_terminate_all_from_the_phone_ends_every_other_session_with_session_revoked(
        self, telegram: Harness
    ) -> None:
        connector = await signed_in(telegram, ADA, device_model="Connector")
        other = await signed_in(telegram, ADA, device_model="Dashboard")
        phone_sessions = [a for a in telegram.world.authorizations(ADA_ID) if a.app_name.startswith("Telegram")]
        ended = telegram.world.terminate_all_from_phone(ADA)
        assert ended >= 2
        for client in (connector, other):
            with pytest.raises(errors.SessionRevokedError):  # not AUTH_KEY_UNREGISTERED: all were ended
                await client(functions.account.GetAuthorizationsRequest())
        left = telegram.world.authorizations(ADA_ID)
        assert len(left) == 1 and left[0].hash in {a.hash for a in phone_sessions}
        for client in (connector, other):
            await client.disconnect()

    async def test_a_key_ended_by_terminate_all_can_log_in_again(self, telegram: Harness) -> None:
        session = await session_of(telegram, ADA)
        telegram.world.terminate_all_from_phone(ADA)
        assert not telegram.world.is_authorized(session)
        client = await connected(telegram, session)
        sent = await client.send_code_request(ADA)
        await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert (await client.get_me()).id == ADA_ID
        await client.disconnect()

    async def test_a_key_minted_by_login_token_can_stumble_once_while_it_propagates(self, telegram: Harness) -> None:
        telegram.world.stumble_next_minted_keys(1)
        connector = await signed_in(telegram, ADA)
        dashboard = await connected(telegram)
        token = await dashboard(export_request(dashboard))
        await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        await dashboard(export_request(dashboard))  # loginTokenSuccess
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await dashboard(functions.account.GetAuthorizationsRequest())
        assert len(await authorizations(dashboard)) >= 2  # asked again a moment later: fine
        again = await signed_in(telegram, ADA)  # a code login is not a minted key: no stumble
        assert await authorizations(again)
        for client in (connector, dashboard, again):
            await client.disconnect()

    async def test_a_login_waiting_for_the_2fa_password_is_listed_as_password_pending(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, BEA)
        dashboard = await connected(telegram)
        await dashboard._switch_dc(3)
        token = await dashboard(export_request(dashboard))
        accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        listed = {a.hash: a for a in await authorizations(connector)}
        assert accepted.hash in listed and listed[accepted.hash].password_pending
        assert (await dashboard.sign_in(password=BEA_PASSWORD)).id == BEA_ID
        listed = {a.hash: a for a in await authorizations(connector)}
        assert not listed[accepted.hash].password_pending
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_a_signed_in_session_can_check_the_2fa_password(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, BEA)
        settings = await connector(functions.account.GetPasswordRequest())
        assert settings.has_password
        await connector(functions.account.GetPasswordSettingsRequest(password=compute_check(settings, BEA_PASSWORD)))
        settings = await connector(functions.account.GetPasswordRequest())
        with pytest.raises(errors.PasswordHashInvalidError):
            await connector(functions.account.GetPasswordSettingsRequest(password=compute_check(settings, "not it")))
        no_2fa = await signed_in(telegram, ADA)
        assert not (await no_2fa(functions.account.GetPasswordRequest())).has_password
        for client in (connector, no_2fa):
            await client.disconnect()
