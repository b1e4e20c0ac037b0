"""The server half of Telegram's SRP 2FA check (https://core.telegram.org/api/srp).

Only x (the slow PBKDF2 password hash) comes from Telethon; the verifier, B and the M1 check are
computed here, independently of Telethon's client half, so a wrong client proof really fails.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from telethon import password as telethon_password
from telethon.tl import types

# Telegram's 2048-bit safe prime with generator 3 (the "known good" prime in telethon/password.py).
PRIME = int(
    "C71CAEB9C6B1C9048E6C522F70F13F73980D40238E3E21C14934D037563D930F"
    "48198A0AA7C14058229493D22530F4DBFA336F6E0AC925139543AED44CCE7C37"
    "20FD51F69458705AC68CD4FE6B6B13ABDC9746512969328454F18FAF8C595F64"
    "2477FE96BB2A941D5BCD1D4AC8CC49880708FA9B378E3C4F3A9060BEE67CF9A4"
    "A4A695811051907E162753B56B0F6B410DBA74D8A84B2A14B3144E0EF1284754"
    "FD17ED950D5965B4B9DD46582DB1178D169C6BC465B0D6FF9CA3928FEF5B9AE4"
    "E418FC15E83EBEA0F87FA9FF5EED70050DED2849F47BF959D956850CE929851F"
    "0D8115F635B105EE2E4E15D04B2454BF6F4FADF034B10403119CD8E3B92FCC5B",
    16,
)
G = 3
SIZE = 256  # bytes in a 2048-bit number


def pad(number: int) -> bytes:
    return number.to_bytes(SIZE, "big")


def sha256(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def algo(salt1: bytes, salt2: bytes) -> types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow:
    return types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
        salt1=salt1, salt2=salt2, g=G, p=pad(PRIME)
    )


@dataclass(frozen=True)
class Verifier:
    salt1: bytes
    salt2: bytes
    v: bytes  # g^x mod p, what the server stores instead of the password


def make_verifier(password: str) -> Verifier:
    """What setting a password leaves on the server (costs one PBKDF2, ~0.1 s)."""
    salt1, salt2 = os.urandom(40), os.urandom(16)
    x = int.from_bytes(telethon_password.compute_hash(algo(salt1, salt2), password), "big")
    return Verifier(salt1, salt2, pad(pow(G, x, PRIME)))


def _k() -> int:
    return int.from_bytes(sha256(pad(PRIME), pad(G)), "big")


def _good(number: int) -> bool:
    # Telegram's clients refuse values too close to 0 or p (is_good_mod_exp_first).
    return 0 < number < PRIME and (PRIME - number).bit_length() >= 1984 and number.bit_length() >= 1984


def server_challenge(verifier: bytes) -> tuple[bytes, bytes]:
    """A fresh secret b and the public B = k*v + g^b mod p sent in account.password."""
    v = int.from_bytes(verifier, "big")
    while True:
        b = int.from_bytes(os.urandom(SIZE), "big") % PRIME
        g_b = pow(G, b, PRIME)
        big_b = (_k() * v + g_b) % PRIME
        if _good(g_b) and _good(big_b):
            return pad(b), pad(big_b)


def check_proof(
    *, salt1: bytes, salt2: bytes, verifier: bytes, b: bytes, big_b: bytes, a_public: bytes, m1: bytes
) -> bool:
    """Recompute the client's proof M1 from the server's side: S = (A * v^u)^b mod p."""
    big_a = int.from_bytes(a_public, "big")
    if not 0 < big_a < PRIME or len(a_public) > SIZE:
        return False
    u = int.from_bytes(sha256(pad(big_a), big_b), "big")
    if u == 0:
        return False
    v = int.from_bytes(verifier, "big")
    s = pow(big_a * pow(v, u, PRIME) % PRIME, int.from_bytes(b, "big"), PRIME)
    k_session = sha256(pad(s))
    h_p, h_g = sha256(pad(PRIME)), sha256(pad(G))
    expected = sha256(
        bytes(x ^ y for x, y in zip(h_p, h_g, strict=True)),
        sha256(salt1),
        sha256(salt2),
        pad(big_a),
        big_b,
        k_session,
    )
    return hmac.compare_digest(expected, m1)
