"""Checking the 2FA password from a signed-in session (account.getPasswordSettings), as Telegram does.

The proof is the same SRP exchange as auth.checkPassword: account.getPassword hands out a challenge
(``srp_id``), and one proof answers it once.
"""

from __future__ import annotations

from telethon.tl import functions, types

from sessions_app.telegram.fake import srp
from sessions_app.telegram.fake.rpc import Call, Rpc, handles


def verify_proof(call: Call, user_id: int, proof: types.TypeInputCheckPasswordSRP) -> None:
    """PASSWORD_HASH_INVALID unless ``proof`` answers a live challenge of ``user_id`` with the right password."""
    if not isinstance(proof, types.InputCheckPasswordSRP):
        raise Rpc(400, "PASSWORD_HASH_INVALID")
    challenge = call.db.execute(
        "SELECT * FROM srp WHERE srp_id = ? AND user_id = ?", (proof.srp_id, user_id)
    ).fetchone()
    if challenge is None:
        raise Rpc(400, "SRP_ID_INVALID")
    call.db.execute("DELETE FROM srp WHERE srp_id = ?", (proof.srp_id,))  # one proof per challenge
    row = call.db.execute("SELECT * FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
    ok = srp.check_proof(
        salt1=row["salt1"],
        salt2=row["salt2"],
        verifier=row["verifier"],
        b=challenge["b"],
        big_b=challenge["big_b"],
        a_public=proof.A,
        m1=proof.M1,
    )
    if not ok:
        raise Rpc(400, "PASSWORD_HASH_INVALID")


@handles(functions.account.GetPasswordSettingsRequest)
def get_password_settings(
    call: Call, request: functions.account.GetPasswordSettingsRequest
) -> types.account.PasswordSettings:
    user_id = call.require_user()
    verify_proof(call, user_id, request.password)
    return types.account.PasswordSettings()
