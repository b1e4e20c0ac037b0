"""The contract: what happens to an account behind the dashboard's back (the security watch).

Someone else logs in; the owner switches two-step verification off or sets its recovery email;
someone without the password asks to reset it; Telegram bans, deletes or freezes the account; the
connector's machine moves to another country.

Knobs: ``foreign_login(phone, *, device_model, platform, app_name, app_version, api_id, ip,
country) -> hash``, ``two_step_off(phone)``, ``two_step_on(phone, password)``,
``two_step_reset_requested(phone, *, days=7) -> datetime``,
``recovery_email_set(phone, email | None)``, ``ban(phone, *, deleted=False)``, ``unban(phone)``,
``freeze(phone, *, appeal_url, until)``, ``unfreeze(phone)``,
``move_key(phone, authorization_hash, *, ip, country)``.
"""

from __future__ import annotations

import datetime

import pytest
from telethon import errors, functions, types
from telethon.password import compute_check

from sessions_app.telegram import errors as app_errors
from sessions_app.telegram.account import fetch_account_view
from tests.telegram.contract.harness import (
    ADA,
    ADA_ID,
    BEA,
    BEA_ID,
    BEA_PASSWORD,
    CONNECTOR_IP,
    DAY,
    OTHER_IP,
    Harness,
    authorizations,
    connected,
    export_request,
    session_of,
    signed_in,
)

APPEAL = "https://t.me/spambot"


async def password_of(client) -> types.account.Password:
    return await client(functions.account.GetPasswordRequest())


async def password_settings(client, password: str) -> types.account.PasswordSettings:
    """account.getPasswordSettings: PASSWORD_HASH_INVALID unless ``password`` is the account's."""
    return await client(
        functions.account.GetPasswordSettingsRequest(compute_check(await password_of(client), password))
    )


class SecurityContract:
    async def test_a_foreign_login_shows_in_every_keys_sessions_with_its_device_app_and_place(
        self, telegram: Harness
    ) -> None:
        connector = await signed_in(telegram, ADA, ip=CONNECTOR_IP)
        dashboard = await signed_in(telegram, ADA)
        auth_hash = telegram.world.foreign_login(
            ADA, device_model="iPhone 15 Pro", app_name="Telegram iOS", api_id=6, ip="198.51.100.23", country="NL"
        )
        for client in (connector, dashboard):
            listed = {a.hash: a for a in await authorizations(client)}
            foreign = listed[auth_hash]
            assert not foreign.current
            assert (foreign.device_model, foreign.app_name, foreign.api_id) == ("iPhone 15 Pro", "Telegram iOS", 6)
            assert (foreign.ip, foreign.country) == ("198.51.100.23", "NL")
            assert foreign.official_app  # api id 6 is Telegram's own app
        assert auth_hash in {a.hash for a in telegram.world.authorizations(ADA_ID)}
        for client in (connector, dashboard):
            await client.disconnect()

    async def test_an_authorization_shows_the_country_of_its_ip(self, telegram: Harness) -> None:
        telegram.world.foreign_login(ADA, ip=OTHER_IP, country="DE")
        elsewhere = await signed_in(telegram, ADA, ip=OTHER_IP)  # the same address, so the same country
        at_home = await signed_in(telegram, ADA)
        own = {a.ip: a.country for a in await authorizations(at_home)}
        assert own[OTHER_IP] == "DE"
        assert next(a for a in await authorizations(at_home) if a.current).country == "Demoland"
        assert next(a for a in await authorizations(elsewhere) if a.current).country == "DE"
        for client in (elsewhere, at_home):
            await client.disconnect()

    async def test_a_moved_key_is_seen_from_its_new_address_and_country(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, ADA, ip=CONNECTOR_IP, device_model="Connector")
        dashboard = await signed_in(telegram, ADA, device_model="Dashboard")
        connector_hash = next(a.hash for a in await authorizations(dashboard) if a.device_model == "Connector")
        telegram.world.move_key(ADA, connector_hash, ip="192.0.2.80", country="BR")
        await connector.get_me()  # its next request comes from the new place too
        moved = next(a for a in await authorizations(dashboard) if a.hash == connector_hash)
        assert (moved.ip, moved.country) == ("192.0.2.80", "BR")
        with pytest.raises(LookupError):
            telegram.world.move_key(ADA, 12345, ip="192.0.2.81", country="BR")
        for client in (connector, dashboard):
            await client.disconnect()

    async def test_get_password_follows_two_step_verification_being_switched_off_and_on(
        self, telegram: Harness
    ) -> None:
        client = await signed_in(telegram, BEA)
        assert (await password_of(client)).has_password
        telegram.world.two_step_off(BEA)
        assert not (await password_of(client)).has_password
        # A login now needs the code alone.
        other = await connected(telegram)
        await other._switch_dc(3)
        sent = await other.send_code_request(BEA)
        assert (await other.sign_in(BEA, telegram.world.last_code(BEA), phone_code_hash=sent.phone_code_hash)).id == (
            BEA_ID
        )
        telegram.world.two_step_on(BEA, "a new password")
        assert (await password_of(client)).has_password
        with pytest.raises(errors.PasswordHashInvalidError):
            await password_settings(other, BEA_PASSWORD)  # the old one no longer checks
        await password_settings(other, "a new password")
        for each in (client, other):
            await each.disconnect()

    async def test_a_login_needs_a_password_switched_on_since(self, telegram: Harness) -> None:
        telegram.world.two_step_on(ADA, "fresh secret")
        client = await connected(telegram)
        sent = await client.send_code_request(ADA)
        with pytest.raises(errors.SessionPasswordNeededError):
            await client.sign_in(ADA, telegram.world.last_code(ADA), phone_code_hash=sent.phone_code_hash)
        assert (await client.sign_in(password="fresh secret")).id == ADA_ID
        await client.disconnect()

    async def test_get_password_reports_the_recovery_email_and_the_login_email_pattern(self, telegram: Harness) -> None:
        client = await signed_in(telegram, BEA)
        assert not (await password_of(client)).has_recovery
        telegram.world.recovery_email_set(BEA, "bea@example.com")
        password = await password_of(client)
        assert password.has_recovery and password.has_password
        assert "bea@example.com" not in str(password.to_dict())  # the address itself is never shown
        telegram.world.recovery_email_set(BEA, None)
        assert not (await password_of(client)).has_recovery
        await client.disconnect()

    async def test_a_reset_request_shows_as_pending_reset_date_until_declined_or_carried_out(
        self, telegram: Harness
    ) -> None:
        """account.resetPassword without the password: Telegram removes it in 7 days unless the owner declines
        (account.declinePasswordReset); meanwhile account.getPassword reports ``pending_reset_date``."""
        client = await signed_in(telegram, BEA)
        assert (await password_of(client)).pending_reset_date is None
        due = telegram.world.two_step_reset_requested(BEA)
        assert due.timestamp() == pytest.approx(telegram.clock() + 7 * DAY, abs=1)
        password = await password_of(client)
        assert password.has_password and password.pending_reset_date == due
        view = await fetch_account_view(client)
        assert view.security is not None and view.security.reset_pending == due
        telegram.world.two_step_on(BEA, BEA_PASSWORD)  # a password set (or the reset declined): no request left
        assert (await password_of(client)).pending_reset_date is None
        telegram.world.two_step_reset_requested(BEA, days=1)
        telegram.clock.advance(DAY)
        assert not (await password_of(client)).has_password  # nobody declined: the password is gone
        with pytest.raises(ValueError):
            telegram.world.two_step_reset_requested(BEA)  # nothing to reset now
        await client.disconnect()

    async def test_a_banned_account_refuses_every_request_of_every_key_until_unbanned(self, telegram: Harness) -> None:
        sessions = [await session_of(telegram, ADA) for _ in range(2)]
        telegram.world.ban(ADA)
        for session in sessions:
            client = await connected(telegram, session)
            with pytest.raises(errors.UserDeactivatedBanError) as refused:
                await client(functions.account.GetAuthorizationsRequest())
            banned = app_errors.translate(refused.value)
            assert isinstance(banned, app_errors.AccountBanned) and not banned.deleted
            assert not isinstance(banned, app_errors.SessionRevoked)
            with pytest.raises(errors.UserDeactivatedBanError):
                await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
            await client.disconnect()
            assert telegram.world.is_authorized(session)  # the keys are kept through the ban
        other = await connected(telegram)
        with pytest.raises(errors.PhoneNumberBannedError):
            await other.send_code_request(ADA)
        await other.disconnect()
        telegram.world.unban(ADA)
        for session in sessions:
            client = await connected(telegram, session)
            assert (await client.get_me()).id == ADA_ID
            await client.disconnect()

    async def test_a_deleted_account_answers_user_deactivated(self, telegram: Harness) -> None:
        client = await signed_in(telegram, ADA)
        telegram.world.ban(ADA, deleted=True)
        with pytest.raises(errors.UserDeactivatedError) as refused:
            await client(functions.account.GetAuthorizationsRequest())
        deleted = app_errors.translate(refused.value)
        assert isinstance(deleted, app_errors.AccountBanned) and deleted.deleted
        await client.disconnect()

    async def test_a_frozen_account_reads_but_refuses_to_act_and_says_where_to_appeal(self, telegram: Harness) -> None:
        connector = await signed_in(telegram, ADA)
        dashboard = await connected(telegram)
        until = datetime.datetime.fromtimestamp(int(telegram.clock() + 30 * DAY), tz=datetime.UTC)
        telegram.world.freeze(ADA, appeal_url=APPEAL, until=until)
        assert (await connector.get_me()).id == ADA_ID  # still signed in, still reading
        assert await authorizations(connector)
        token = await dashboard(export_request(dashboard))
        with pytest.raises(errors.RPCError) as refused:
            await connector(functions.auth.AcceptLoginTokenRequest(token.token))
        assert refused.value.code == 420 and app_errors.is_frozen_error(refused.value)
        frozen = app_errors.translate(refused.value)
        assert isinstance(frozen, app_errors.AccountFrozen)

        view = await fetch_account_view(connector)
        assert view.freeze is not None
        assert (view.freeze.appeal_url, view.freeze.until) == (APPEAL, until)
        assert view.freeze.since is not None and view.freeze.since <= until
        assert view.authorizations and view.security is None  # getPassword is one of the refused

        telegram.world.unfreeze(ADA)
        view = await fetch_account_view(connector)
        assert view.freeze is None and view.security is not None and not view.security.two_step
        for client in (connector, dashboard):
            await client.disconnect()

    async def test_app_config_carries_the_freeze_and_answers_not_modified_for_a_current_hash(
        self, telegram: Harness
    ) -> None:
        client = await signed_in(telegram, ADA)
        plain = await client(functions.help.GetAppConfigRequest(hash=0))
        assert isinstance(plain, types.help.AppConfig)
        assert isinstance(
            await client(functions.help.GetAppConfigRequest(hash=plain.hash)), types.help.AppConfigNotModified
        )
        telegram.world.freeze(ADA, appeal_url=APPEAL)
        frozen = await client(functions.help.GetAppConfigRequest(hash=plain.hash))  # changed: the whole config again
        assert isinstance(frozen, types.help.AppConfig) and frozen.hash != plain.hash
        values = {item.key: item.value for item in frozen.config.value}
        assert values["freeze_appeal_url"].value == APPEAL
        assert values["freeze_since_date"].value == int(telegram.clock())
        assert "freeze_until_date" not in values
        await client.disconnect()

    async def test_a_freeze_that_runs_out_unappealed_ends_with_the_account_deleted(self, telegram: Harness) -> None:
        client = await signed_in(telegram, ADA)
        telegram.world.freeze(ADA, until=telegram.clock() + DAY)
        telegram.clock.advance(DAY)
        with pytest.raises(errors.UserDeactivatedError):
            await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
        await client.disconnect()
