"""What a contract test needs from a fake Telegram, and the few steps most tests start with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telethon import TelegramClient, errors, functions, types

ADA, BEA, CY = "9996621001", "9996631002", "9996611003"
ADA_ID, BEA_ID, CY_ID = 7100021001, 7100031002, 7100011003
BEA_PASSWORD = "correct horse battery"
UNREGISTERED_DC2, UNREGISTERED_DC1 = "9996625555", "9996615555"
BANNED = "9996629999"
# One account per way of sending the code (sent-code types), besides the app/SMS/call of the three above.
DEE, DEE_EMAIL = "9996621004", "dee@example.com"  # login code by email (auth.sentCodeTypeEmailCode)
EVE, EVE_ID = "9996631005", 7100031005  # must set up a login email first (home DC 3)
FAY, FAY_WORD, FAY_PHRASE = "9996621006", "orbit", "quiet silver harbor"  # a word, then a phrase, by SMS
GUS, HAL = "9996621007", "9996621008"  # only official apps can get the code: Firebase SMS, payment required
IVY = "9996611009"  # a Fragment number
DAY = 86400
API_ID, API_HASH = 12345, "0123456789abcdef" * 2
CONNECTOR_IP = "203.0.113.7"  # TEST-NET-3: a label, never contacted
OTHER_IP = "198.51.100.4"  # TEST-NET-2


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
    """A fake Telegram as the contract sees it.

    ``world`` has ``client_factory(session, *, api_id, api_hash, ip=..., **client_kwargs)`` and the
    knobs: last_code, code_ttl, flood, set_rate_limit, approve_qr, approve_takeout, terminate,
    age_authorizations, authorizations, is_authorized, seed_messages,
    expire_file_references, last_email_code, login_email; for the security watch foreign_login,
    move_key, two_step_off, two_step_on, recovery_email_set, ban, unban, freeze, unfreeze.
    ``clock`` is the world's clock.
    """

    world: Any
    clock: ManualClock
    reopen: Callable[[], Any] | None = None  # the same state seen from another process, if the fake persists

    def client(
        self, session: str = "", world: Any = None, *, ip: str | None = None, **client_kwargs: Any
    ) -> TelegramClient:
        if ip is not None:
            client_kwargs["ip"] = ip
        client = (world or self.world).client_factory(session, api_id=API_ID, api_hash=API_HASH, **client_kwargs)
        client.flood_sleep_threshold = 0  # a flood wait must surface, never be slept through
        return client


async def connected(telegram: Harness, session: str = "", world: Any = None, **client_kwargs: Any) -> TelegramClient:
    client = telegram.client(session, world, **client_kwargs)
    await client.connect()
    return client


async def signed_in(telegram: Harness, phone: str = ADA, **client_kwargs: Any) -> TelegramClient:
    """A client signed in with a code (and the password, for the account with 2FA)."""
    client = await connected(telegram, **client_kwargs)
    sent = await client.send_code_request(phone)
    if phone == BEA:
        try:
            await client.sign_in(phone, telegram.world.last_code(phone), phone_code_hash=sent.phone_code_hash)
        except errors.SessionPasswordNeededError:
            await client.sign_in(password=BEA_PASSWORD)
        return client
    await client.sign_in(phone, telegram.world.last_code(phone), phone_code_hash=sent.phone_code_hash)
    return client


async def session_of(telegram: Harness, phone: str = ADA, **client_kwargs: Any) -> str:
    client = await signed_in(telegram, phone, **client_kwargs)
    session = client.session.save()
    await client.disconnect()
    return session


async def authorizations(client: TelegramClient) -> list[types.Authorization]:
    return (await client(functions.account.GetAuthorizationsRequest())).authorizations


async def own_authorization(client: TelegramClient) -> types.Authorization:
    return next(a for a in await authorizations(client) if a.current)


def export_request(client: TelegramClient) -> functions.auth.ExportLoginTokenRequest:
    return functions.auth.ExportLoginTokenRequest(client.api_id, client.api_hash, [])


async def dialog(client: TelegramClient, name: str) -> Any:
    async for found in client.iter_dialogs():
        if found.name == name:
            return found
    raise AssertionError(f"no dialog {name!r}")
