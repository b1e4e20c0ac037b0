"""The contract: logging in with a login token (QR login) and confirming the new session."""

from __future__ import annotations

import datetime
import os

import pytest
from telethon import TelegramClient, errors, functions, types
from telethon.sessions import StringSession

from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    BEA,
    BEA_ID,
    BEA_PASSWORD,
    CY,
    CY_ID,
    DAY,
    Harness,
    authorizations,
    connected,
    export_request,
    own_authorization,
    signed_in,
)


class LoginTokenContract:
    """auth.exportLoginToken / acceptLoginToken / importLoginToken, unconfirmed sessions."""

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
        assert (await own_authorization(client)).unconfirmed  # scanned, not yet confirmed
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

    # -- the dashboard's own key, minted from a signed-in key ---------------------------------

    async def test_a_signed_in_key_accepts_a_token_and_the_new_key_is_signed_in(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, device_model="Connector")
        dashboard = await connected(telegram, device_model="Dashboard", system_version="Dash OS", app_version="dash 1")
        token = await dashboard(export_request(dashboard))
        assert isinstance(token, types.auth.LoginToken)
        accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        assert isinstance(accepted, types.Authorization)
        assert accepted.hash != 0 and not accepted.current and accepted.unconfirmed
        assert (accepted.device_model, accepted.system_version, accepted.app_version) == (
            "Dashboard",
            "Dash OS",
            "dash 1",
        )
        result = await dashboard(export_request(dashboard))
        assert isinstance(result, types.auth.LoginTokenSuccess) and result.authorization.user.id == ADA_ID
        assert (await dashboard.get_me()).id == ADA_ID
        seen = {a.hash: a for a in await authorizations(connector)}
        assert seen[accepted.hash].device_model == "Dashboard" and seen[accepted.hash].unconfirmed
        assert telegram.world.is_authorized(dashboard.session.save())
        assert telegram.world.is_authorized(connector.session.save())  # two keys, two authorizations
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_another_session_confirms_an_unconfirmed_one(self, telegram: Harness) -> None:
        connector, dashboard, accepted = await _mint(telegram)
        assert (await own_authorization(dashboard)).unconfirmed
        confirm = functions.account.ChangeAuthorizationSettingsRequest(hash=accepted.hash, confirmed=True)
        assert await connector(confirm) is True
        assert not next(a for a in await authorizations(connector) if a.hash == accepted.hash).unconfirmed
        assert not (await own_authorization(dashboard)).unconfirmed
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_confirming_an_unknown_hash_is_invalid(self, telegram: Harness) -> None:
        connector, dashboard, accepted = await _mint(telegram)
        bea = await signed_in(telegram, BEA)
        bea_session = next(a.hash for a in await authorizations(bea) if not a.current)
        for unknown in (1234567890123456789, bea_session):  # made up, and another account's
            with pytest.raises(errors.HashInvalidError):
                await connector(functions.account.ChangeAuthorizationSettingsRequest(hash=unknown, confirmed=True))
        assert (await own_authorization(dashboard)).unconfirmed
        for client in (connector, dashboard, bea):
            await client.disconnect()

    async def test_a_session_cannot_confirm_itself(self, telegram: Harness) -> None:
        connector, dashboard, accepted = await _mint(telegram)
        with pytest.raises(errors.HashInvalidError):
            await dashboard(functions.account.ChangeAuthorizationSettingsRequest(hash=0, confirmed=True))
        with pytest.raises(errors.HashInvalidError):
            await dashboard(functions.account.ChangeAuthorizationSettingsRequest(hash=accepted.hash, confirmed=True))
        assert (await own_authorization(dashboard)).unconfirmed
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_a_token_accepted_for_an_account_with_2fa_needs_the_password(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, BEA)
        dashboard = await connected(telegram, device_model="Dashboard")
        await dashboard._switch_dc(3)  # the token's key on the account's own DC: no migration
        token = await dashboard(export_request(dashboard))
        accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        assert accepted.password_pending and accepted.unconfirmed
        with pytest.raises(errors.SessionPasswordNeededError):
            await dashboard(export_request(dashboard))
        assert await dashboard.get_me() is None
        with pytest.raises(errors.PasswordHashInvalidError):
            await dashboard.sign_in(password="not it")
        assert (await dashboard.sign_in(password=BEA_PASSWORD)).id == BEA_ID
        assert accepted.hash in {a.hash for a in await authorizations(connector)}
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_a_token_from_another_dc_is_finished_by_importing_it_on_the_home_dc(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, CY)  # home DC 1; a fresh key starts on DC 2
        dashboard = await connected(telegram)
        token = await dashboard(export_request(dashboard))
        accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        moved = await dashboard(export_request(dashboard))
        assert isinstance(moved, types.auth.LoginTokenMigrateTo) and moved.dc_id == 1
        await dashboard._switch_dc(moved.dc_id)
        result = await dashboard(functions.auth.ImportLoginTokenRequest(moved.token))
        assert isinstance(result, types.auth.LoginTokenSuccess) and result.authorization.user.id == CY_ID
        assert StringSession(dashboard.session.save()).dc_id == 1
        assert accepted.hash in {a.hash for a in await authorizations(connector)}
        with pytest.raises(errors.AuthTokenAlreadyAcceptedError):
            await dashboard(functions.auth.ImportLoginTokenRequest(moved.token))
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_an_expired_token_cannot_be_accepted(self, telegram: Harness) -> None:
        connector = await signed_in(telegram)
        dashboard = await connected(telegram)
        token = await dashboard(export_request(dashboard))
        telegram.clock.advance(token.expires.timestamp() - telegram.clock.now)
        with pytest.raises(errors.AuthTokenExpiredError):
            await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        assert await dashboard.get_me() is None
        await connector.disconnect()
        await dashboard.disconnect()

    async def test_a_token_is_good_for_one_acceptance(self, telegram: Harness) -> None:
        connector = await signed_in(telegram)
        other = await signed_in(telegram)
        dashboard = await connected(telegram)
        token = await dashboard(export_request(dashboard))
        await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        for accepter in (connector, other):
            with pytest.raises(errors.AuthTokenAlreadyAcceptedError):
                await accepter(functions.auth.AcceptLoginTokenRequest(token.token))
        for client in (connector, other, dashboard):
            await client.disconnect()

    async def test_a_made_up_token_is_invalid(self, telegram: Harness) -> None:
        connector = await signed_in(telegram)
        with pytest.raises(errors.AuthTokenInvalidxError):  # acceptLoginToken's name for it
            await connector(functions.auth.AcceptLoginTokenRequest(os.urandom(32)))
        with pytest.raises(errors.AuthTokenInvalidError):
            await connector(functions.auth.ImportLoginTokenRequest(os.urandom(32)))
        await connector.disconnect()

    async def test_only_a_signed_in_key_can_accept_a_token(self, telegram: Harness) -> None:
        stranger = await connected(telegram)
        dashboard = await connected(telegram)
        token = await dashboard(export_request(dashboard))
        with pytest.raises(errors.AuthKeyUnregisteredError):
            await stranger(functions.auth.AcceptLoginTokenRequest(token.token))
        assert isinstance(await dashboard(export_request(dashboard)), types.auth.LoginToken)  # still waiting
        await stranger.disconnect()
        await dashboard.disconnect()

    async def test_a_key_minted_by_login_token_is_held_to_the_24_hour_rule(self, telegram: Harness) -> None:
        telegram.world.age_authorizations(ADA_ID, DAY + 1)  # the seeded devices are old anyway
        connector = await signed_in(telegram)
        telegram.clock.advance(DAY + 1)  # the connector's key is a day old
        connector, dashboard, accepted = await _mint(telegram, connector)
        others = [a.hash for a in await authorizations(dashboard) if not a.current]
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await dashboard(functions.account.ResetAuthorizationRequest(others[0]))
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await dashboard(functions.auth.ResetAuthorizationsRequest())
        telegram.clock.advance(DAY - 60)
        with pytest.raises(errors.FreshResetAuthorisationForbiddenError):
            await dashboard(functions.auth.ResetAuthorizationsRequest())
        telegram.clock.advance(61)
        assert await dashboard(functions.account.ResetAuthorizationRequest(others[0])) is True
        await connector.disconnect()
        await dashboard.disconnect()


async def _mint(
    telegram: Harness, connector: TelegramClient | None = None
) -> tuple[TelegramClient, TelegramClient, types.Authorization]:
    """A signed-in key (the connector's) logs a new key (the dashboard's) in to Ada by login token."""
    connector = connector or await signed_in(telegram, device_model="Connector")
    dashboard = await connected(telegram, device_model="Dashboard")
    token = await dashboard(export_request(dashboard))
    accepted = await connector(functions.auth.AcceptLoginTokenRequest(token.token))
    assert isinstance(await dashboard(export_request(dashboard)), types.auth.LoginTokenSuccess)
    return connector, dashboard, accepted
