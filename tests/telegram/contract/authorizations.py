"""The contract: the account's active sessions (authorizations) and ending them."""

from __future__ import annotations

import pytest
from telethon import errors, functions

from tests.telegram.contract.harness import (
    ADA_ID,
    DAY,
    Harness,
    authorizations,
    connected,
    own_authorization,
    session_of,
    signed_in,
)


class AuthorizationsContract:
    """account.getAuthorizations, resetAuthorization(s), the 24-hour rule, log out."""

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

    async def test_the_factory_passes_client_keywords_through_to_the_sessions_list(self, telegram: Harness) -> None:
        labels = {"device_model": "Build box", "system_version": "Ubuntu 24.04", "app_version": "connector 2.3"}
        client = await signed_in(telegram, lang_code="de", **labels)
        assert client._init_request.lang_code == "de"
        own = await own_authorization(client)
        assert (own.device_model, own.system_version, own.app_version) == tuple(labels.values())
        other = await signed_in(telegram)
        seen = [a for a in await authorizations(other) if a.device_model == "Build box"]
        assert len(seen) == 1 and (seen[0].system_version, seen[0].app_version) == ("Ubuntu 24.04", "connector 2.3")
        await client.disconnect()
        await other.disconnect()

    async def test_date_active_moves_with_every_request_of_that_key_only(self, telegram: Harness) -> None:
        watcher = await signed_in(telegram, device_model="Watcher")
        speaker = await signed_in(telegram, device_model="Speaker")

        async def seen_by_watcher() -> tuple[float, float]:
            listed = {a.device_model: a for a in await authorizations(watcher)}
            return listed["Speaker"].date_active.timestamp(), listed["Watcher"].date_active.timestamp()

        telegram.clock.advance(600)
        await speaker.get_me()
        speaker_active, watcher_active = await seen_by_watcher()
        assert speaker_active == int(telegram.clock.now) and watcher_active == int(telegram.clock.now)
        telegram.clock.advance(600)
        later_speaker, later_watcher = await seen_by_watcher()
        assert later_speaker == speaker_active  # silent for ten minutes
        assert later_watcher == watcher_active + 600
        await watcher.disconnect()
        await speaker.disconnect()

    async def test_hash_0_or_the_callers_own_hash_cannot_be_reset(self, telegram: Harness) -> None:
        client = await signed_in(telegram, device_model="Self")
        other = await signed_in(telegram)
        telegram.world.age_authorizations(ADA_ID, DAY + 1)
        with pytest.raises(errors.HashInvalidError):
            await client(functions.account.ResetAuthorizationRequest(0))
        own_hash = next(a.hash for a in await authorizations(other) if a.device_model == "Self")
        with pytest.raises(errors.HashInvalidError):
            await client(functions.account.ResetAuthorizationRequest(own_hash))
        assert (await client.get_me()).id == ADA_ID
        await client.disconnect()
        await other.disconnect()

    async def test_logging_out_removes_the_session_from_the_list(self, telegram: Harness) -> None:
        leaving = await signed_in(telegram, device_model="Leaving")
        staying = await signed_in(telegram)
        assert "Leaving" in {a.device_model for a in await authorizations(staying)}
        assert await leaving.log_out() is True
        assert "Leaving" not in {a.device_model for a in await authorizations(staying)}
        await staying.disconnect()
