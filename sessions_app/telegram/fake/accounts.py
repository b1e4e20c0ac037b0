"""Who lives in the demo Telegram: the demo accounts, the phone-number rules and the seeded devices.

Phone numbers follow Telegram's test-DC convention 99966XYYYY: X is the account's home DC and the
login code is X repeated five times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DC = 2  # Telethon's DEFAULT_DC_ID: a fresh session always starts here
DC_IDS = (1, 2, 3)
DEMO_IP = "127.0.0.1"
COUNTRY = "Demoland"

_TEST_NUMBER = re.compile(r"^99966([1-3])\d{4}$")


@dataclass(frozen=True)
class DemoAccount:
    phone: str  # digits only, no "+"
    dc: int
    code: str
    password: str | None  # None = no 2FA
    hint: str
    first_name: str
    last_name: str
    username: str
    user_id: int


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("9996621001", 2, "22222", None, "", "Ada", "Demo", "ada_demo", 7100021001),
    DemoAccount("9996631002", 3, "33333", "correct horse battery", "four words", "Bea", "Demo", "bea_demo", 7100031002),
    DemoAccount("9996611003", 1, "11111", None, "", "Cy", "Demo", "cy_demo", 7100011003),
)

BANNED_PHONES = frozenset({"9996629999"})


def normalize_phone(phone: str) -> str:
    """Digits only, the way Telegram reads a phone number ('+999 66 2 1001' -> '9996621001')."""
    return "".join(ch for ch in str(phone) if ch.isdigit())


def phone_dc(phone: str) -> int | None:
    """Home DC of a test number, None when the number is not a valid demo number."""
    match = _TEST_NUMBER.match(normalize_phone(phone))
    return int(match.group(1)) if match else None


def code_for(phone: str) -> str:
    dc = phone_dc(phone)
    if dc is None:
        raise ValueError(f"{phone!r} is not a demo number")
    return str(dc) * 5


def account_by_phone(phone: str) -> DemoAccount | None:
    digits = normalize_phone(phone)
    return next((a for a in DEMO_ACCOUNTS if a.phone == digits), None)


def account_by_id(user_id: int) -> DemoAccount | None:
    return next((a for a in DEMO_ACCOUNTS if a.user_id == user_id), None)


@dataclass(frozen=True)
class SeededDevice:
    """Another device already logged in to a demo account, created long before the demo starts."""

    device_model: str
    platform: str
    system_version: str
    api_id: int
    app_name: str
    app_version: str
    ip: str
    age_seconds: int  # how long before seeding it logged in
    idle_seconds: int  # how long before seeding it was last active
    negative_hash: bool  # hashes are 64-bit signed: one device gets a negative one


SEEDED_DEVICES: tuple[SeededDevice, ...] = (
    SeededDevice(
        "Pixel 8", "android", "Android 14", 6, "Telegram Android", "11.2.3", "127.0.0.21", 40 * 86400, 2 * 3600, True
    ),
    SeededDevice(
        "Desktop", "windows", "Windows 11", 2040, "Telegram Desktop", "5.6.1 x64", "127.0.0.22", 3 * 86400, 86400, False
    ),
)
