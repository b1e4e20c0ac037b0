"""Checking the 2FA password from a signed-in session (account.getPasswordSettings), as Telegram does.

The proof is the same SRP exchange as auth.checkPassword: account.getPassword hands out a challenge
(``srp_id``), and one proof answers it once.

A reset requested without the password (account.resetPassword, the knob
``two_step_reset_requested``) shows in account.getPassword as ``pending_reset_date``; when that
date has come and nobody declined it, the password is gone (carried out at the next getPassword).
"""

from __future__ import annotations

from telethon.tl import functions, types

from sessions_app.telegram.fake import srp
from sessions_app.telegram.fake.rpc import Call, Handler, Rpc, dt, handles


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


def reset_request(call: Call, user_id: int) -> float | None:
    """When a pending password reset of ``user_id`` removes the password; one that came due is carried out."""
    row = call.db.execute("SELECT password_reset_at FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
    if row is None or row["password_reset_at"] is None:
        return None
    if call.now < row["password_reset_at"]:
        return float(row["password_reset_at"])
    call.db.execute(
        "UPDATE accounts SET salt1 = NULL, salt2 = NULL, verifier = NULL, hint = '', recovery_email = NULL,"
        " email_unconfirmed = NULL, password_reset_at = NULL WHERE user_id = ?",
        (user_id,),
    )
    return None


def with_reset_request(get_password: Handler) -> Handler:
    """account.getPassword (fake/login.py) that also reports a pending reset as ``pending_reset_date``."""

    def handler(call: Call, request: functions.account.GetPasswordRequest) -> types.account.Password | bool:
        user_id = call.key["pending_user_id"] or call.key["user_id"]
        due = reset_request(call, int(user_id)) if user_id is not None else None
        result = get_password(call, request)
        if due is not None and isinstance(result, types.account.Password) and result.has_password:
            result.pending_reset_date = dt(due)
        return result

    return handler
