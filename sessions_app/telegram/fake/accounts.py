"""Who lives in the demo Telegram: the demo accounts, the phone-number rules and the seeded devices.

Phone numbers follow Telegram's test-DC convention 99966XYYYY: X is the account's home DC and the
login code is X repeated five times (a word or phrase for the accounts that get one by SMS; the
code confirming a new login email is X six times).
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
    # How Telegram sends this account's login code: auth.sentCodeType names (without the prefix) in
    # the order auth.sendCode and each auth.resendCode use them; "PaymentRequired" stands for
    # auth.sentCodePaymentRequired. "SetUpEmailRequired" sends email codes once a login email is set.
    sent_codes: tuple[str, ...] = ("App", "Sms", "Call")
    email: str = ""  # the login email (EmailCode)
    word: str = ""  # what SmsWord sends
    phrase: str = ""  # what SmsPhrase sends


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("9996621001", 2, "22222", None, "", "Ada", "Demo", "ada_demo", 7100021001),
    DemoAccount("9996631002", 3, "33333", "correct horse battery", "four words", "Bea", "Demo", "bea_demo", 7100031002),
    DemoAccount("9996611003", 1, "11111", None, "", "Cy", "Demo", "cy_demo", 7100011003),
    # One account per way of sending the code that a real fleet meets (see the README's table).
    DemoAccount(
        "9996621004", 2, "22222", None, "", "Dee", "Demo", "dee_demo", 7100021004, ("EmailCode",), "dee@example.com"
    ),
    DemoAccount("9996631005", 3, "33333", None, "", "Eve", "Demo", "eve_demo", 7100031005, ("SetUpEmailRequired",)),
    DemoAccount(
        "9996621006",
        2,
        "22222",
        None,
        "",
        "Fay",
        "Demo",
        "fay_demo",
        7100021006,
        ("SmsWord", "SmsPhrase", "MissedCall", "Call"),
        word="orbit",
        phrase="quiet silver harbor",
    ),
    DemoAccount("9996621007", 2, "22222", None, "", "Gus", "Demo", "gus_demo", 7100021007, ("FirebaseSms",)),
    DemoAccount("9996621008", 2, "22222", None, "", "Hal", "Demo", "hal_demo", 7100021008, ("PaymentRequired",)),
    DemoAccount("9996611009", 1, "11111", None, "", "Ivy", "Demo", "ivy_demo", 7100011009, ("FragmentSms", "Call")),
)

REFUSED_EMAIL_DOMAINS = frozenset({"disposable.example"})  # account.sendVerifyEmailCode: EMAIL_NOT_ALLOWED

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


CALLER_PREFIX = "+99966"  # the numbers the demo's missed and flash calls come from


def code_sent_as(kind: str, phone: str) -> str:
    """What the person reads when the code goes out as ``kind`` (auth.sentCodeType name); "" for none yet."""
    account = account_by_phone(phone)
    if kind in ("SmsWord", "SmsPhrase") and account is not None:
        return account.word if kind == "SmsWord" else account.phrase
    if kind == "FlashCall":
        return CALLER_PREFIX.lstrip("+") + code_for(phone)  # the calling number is the code
    return "" if kind in ("SetUpEmailRequired", "PaymentRequired") else code_for(phone)


def email_refusal(email: str) -> str:
    """What account.sendVerifyEmailCode answers for an address it will not take ("" when it takes it)."""
    if len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        return "EMAIL_INVALID"
    return "EMAIL_NOT_ALLOWED" if email.rpartition("@")[2].casefold() in REFUSED_EMAIL_DOMAINS else ""


def email_pattern(email: str) -> str:
    """How Telegram shows a login email: ``dee@example.com`` -> ``d***@example.com``."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


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
