"""Connection-level requests and signing in: config, codes of every sent-code type, login email, 2FA, self."""

from __future__ import annotations

import os
import secrets
import sqlite3

from telethon.tl import functions, types

from sessions_app.telegram.fake import keys, security, srp
from sessions_app.telegram.fake.accounts import (
    BANNED_PHONES,
    CALLER_PREFIX,
    COUNTRY,
    DC_IDS,
    DEMO_IP,
    DemoAccount,
    account_by_id,
    account_by_phone,
    code_for,
    code_sent_as,
    email_pattern,
    email_refusal,
    normalize_phone,
    phone_dc,
)
from sessions_app.telegram.fake.entities import load_peers, self_user
from sessions_app.telegram.fake.password import verify_proof
from sessions_app.telegram.fake.rpc import Call, Rpc, dt, handles, unauthorized

DEFAULT_CODE_TTL = 300


def code_ttl(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = 'code_ttl'").fetchone()
    return int(row["value"]) if row else DEFAULT_CODE_TTL


def _finish_login(call: Call, user_id: int) -> types.auth.Authorization:
    """The code was right: either the account is in, or its password comes next."""
    if not keys.bind(call.db, call.key_id, user_id, call.now):
        raise Rpc(401, "SESSION_PASSWORD_NEEDED")
    account = account_by_id(user_id)
    assert account is not None
    return types.auth.Authorization(user=self_user(account))


# -- connection ---------------------------------------------------------------------------------


@handles(functions.help.GetConfigRequest)
def get_config(call: Call, request: functions.help.GetConfigRequest) -> types.Config:
    return types.Config(
        date=dt(call.now),
        expires=dt(call.now + 3600),
        test_mode=False,
        this_dc=call.dc,
        dc_options=[types.DcOption(id=dc, ip_address=DEMO_IP, port=4430 + dc) for dc in DC_IDS],
        dc_txt_domain_name="demo.invalid",
        chat_size_max=200,
        megagroup_size_max=200000,
        forwarded_count_max=100,
        online_update_period_ms=210000,
        offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30000,
        online_cloud_timeout_ms=300000,
        notify_cloud_delay_ms=30000,
        notify_default_delay_ms=1500,
        push_chat_period_ms=60000,
        push_chat_limit=2,
        edit_time_limit=172800,
        revoke_time_limit=2147483647,
        revoke_pm_time_limit=2147483647,
        rating_e_decay=2419200,
        stickers_recent_limit=200,
        channels_read_media_period=604800,
        call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000,
        call_connect_timeout_ms=30000,
        call_packet_timeout_ms=10000,
        me_url_prefix="https://t.me/",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=call.dc,
        tmp_sessions=None,
    )


@handles(functions.help.GetNearestDcRequest)
def get_nearest_dc(call: Call, request: functions.help.GetNearestDcRequest) -> types.NearestDc:
    return types.NearestDc(country=COUNTRY, this_dc=call.dc, nearest_dc=call.dc)


@handles(functions.PingRequest)
def ping(call: Call, request: functions.PingRequest) -> types.Pong:
    return types.Pong(msg_id=0, ping_id=request.ping_id)


# -- login codes: sent the ways DemoAccount.sent_codes lists, one per sendCode/resendCode (codeSettings
# aside); a codes row keeps that list (kinds) and the way in use (stage) --------------------------


def _login_email(db: sqlite3.Connection, phone: str) -> str:
    account = account_by_phone(phone)
    if account is None or account.email:
        return account.email if account else ""
    row = db.execute("SELECT login_email FROM accounts WHERE user_id = ?", (account.user_id,)).fetchone()
    return str(row["login_email"] or "") if row else ""


def _kinds(db: sqlite3.Connection, phone: str) -> list[str]:
    account = account_by_phone(phone)
    kinds = list(account.sent_codes if account else DemoAccount.sent_codes)
    if kinds == ["SetUpEmailRequired"] and _login_email(db, phone):
        return ["EmailCode"]  # set up once: from then on the code goes there
    return kinds


def _announce(db: sqlite3.Connection, phone_code_hash: str) -> types.auth.TypeSentCode:
    """What auth.sendCode/resendCode answer for a codes row, at its current way of sending."""
    row = db.execute("SELECT * FROM codes WHERE hash = ?", (phone_code_hash,)).fetchone()
    kinds, stage, code, phone = row["kinds"].split(","), row["stage"], row["code"], row["phone"]
    if kinds[stage] == "PaymentRequired":
        return types.auth.SentCodePaymentRequired(
            "org.telegram.premium.login", phone_code_hash, "login@demo.invalid", f"Login code +{phone}", 7, "EUR", 199
        )
    made = {
        "App": lambda: types.auth.SentCodeTypeApp(len(code)),
        "Sms": lambda: types.auth.SentCodeTypeSms(len(code)),
        "Call": lambda: types.auth.SentCodeTypeCall(len(code)),
        "MissedCall": lambda: types.auth.SentCodeTypeMissedCall(CALLER_PREFIX, len(code)),
        "FlashCall": lambda: types.auth.SentCodeTypeFlashCall(CALLER_PREFIX + "*" * len(code_for(phone))),
        "EmailCode": lambda: types.auth.SentCodeTypeEmailCode(email_pattern(_login_email(db, phone)), len(code)),
        "SetUpEmailRequired": types.auth.SentCodeTypeSetUpEmailRequired,
        "SmsWord": lambda: types.auth.SentCodeTypeSmsWord(beginning=code[:1]),
        "SmsPhrase": lambda: types.auth.SentCodeTypeSmsPhrase(beginning=code.split()[0]),
        "FragmentSms": lambda: types.auth.SentCodeTypeFragmentSms(f"https://fragment.com/code/{phone}", len(code)),
        "FirebaseSms": lambda: types.auth.SentCodeTypeFirebaseSms(len(code), nonce=secrets.token_bytes(16)),
    }
    then = kinds[stage + 1] if stage + 1 < len(kinds) else ""  # a word or phrase next: CodeTypeSms
    next_type = getattr(types.auth, "CodeType" + ("Sms" if then.startswith("Sms") else then))() if then else None
    return types.auth.SentCode(made[kinds[stage]](), phone_code_hash, next_type, timeout=60 if then else None)


def _new_code(call: Call, phone: str, kinds: list[str]) -> str:
    code_hash, code, expires = secrets.token_hex(9), code_sent_as(kinds[0], phone), call.now + code_ttl(call.db)
    call.db.execute(
        "INSERT INTO codes (hash, phone, code, key_id, sent, expires, kinds) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (code_hash, phone, code, call.key_id, call.now, expires, ",".join(kinds)),
    )
    return code_hash


def _valid_phone(raw: str) -> str:
    phone = normalize_phone(raw)
    if phone_dc(phone) is None:
        raise Rpc(400, "PHONE_NUMBER_INVALID")
    if phone in BANNED_PHONES:
        raise Rpc(400, "PHONE_NUMBER_BANNED")
    return phone


@handles(functions.auth.SendCodeRequest)
def send_code(call: Call, request: functions.auth.SendCodeRequest) -> types.auth.TypeSentCode:
    phone = _valid_phone(request.phone_number)
    if login_refusal := security.login_refusal(call.db, phone):
        raise Rpc(400, login_refusal)
    if request.api_id <= 0:
        raise Rpc(400, "API_ID_INVALID")
    home = phone_dc(phone)
    if home != call.dc:
        raise Rpc(303, f"PHONE_MIGRATE_{home}")
    return _announce(call.db, _new_code(call, phone, _kinds(call.db, phone)))


def _live_code(call: Call, phone: str, phone_code_hash: str | None, expired: str = "PHONE_CODE_EXPIRED") -> sqlite3.Row:
    """The code a hash stands for, only for the key that asked for it and only until it expires."""
    if not phone_code_hash:
        raise Rpc(400, "PHONE_CODE_HASH_EMPTY")
    row: sqlite3.Row | None = call.db.execute("SELECT * FROM codes WHERE hash = ?", (phone_code_hash,)).fetchone()
    if row is None or row["phone"] != phone or row["key_id"] != call.key_id or row["expires"] <= call.now:
        raise Rpc(400, expired)
    return row


@handles(functions.auth.ResendCodeRequest)
def resend_code(call: Call, request: functions.auth.ResendCodeRequest) -> types.auth.TypeSentCode:
    """The code again, the next way the account's list names (the hash stays); none left: SEND_CODE_UNAVAILABLE."""
    phone = _valid_phone(request.phone_number)
    row = _live_code(call, phone, request.phone_code_hash)
    kinds, stage = row["kinds"].split(","), row["stage"] + 1
    if stage >= len(kinds):
        raise Rpc(406, "SEND_CODE_UNAVAILABLE")
    call.db.execute(
        "UPDATE codes SET stage = ?, code = ?, sent = ?, expires = ? WHERE hash = ?",
        (stage, code_sent_as(kinds[stage], phone), call.now, call.now + code_ttl(call.db), row["hash"]),
    )
    return _announce(call.db, row["hash"])


def _same(typed: str, sent: str) -> bool:
    """A code as typed against the one sent: words compare without case and extra spaces."""
    return bool(sent) and secrets.compare_digest(
        " ".join(str(typed).split()).casefold().encode(), " ".join(sent.split()).casefold().encode()
    )


@handles(functions.auth.SignInRequest)
def sign_in(call: Call, request: functions.auth.SignInRequest) -> types.auth.TypeAuthorization:
    """phone_code for codes sent to the phone, email_verification for one sent to the login email."""
    phone = _valid_phone(request.phone_number)
    row = _live_code(call, phone, request.phone_code_hash)
    if row["kinds"].split(",")[row["stage"]] == "EmailCode":
        verification = request.email_verification
        if verification is None:
            raise Rpc(400, "PHONE_CODE_INVALID" if request.phone_code else "PHONE_CODE_EMPTY")
        if not isinstance(verification, types.EmailVerificationCode):
            raise Rpc(400, "EMAIL_TOKEN_INVALID")  # Apple/Google sign-in: not in the demo
        if not _same(verification.code, row["code"]):
            raise Rpc(400, "EMAIL_CODE_INVALID")
    elif not request.phone_code:
        raise Rpc(400, "PHONE_CODE_EMPTY")  # also when only an email_verification came
    elif not _same(request.phone_code, row["code"]):
        raise Rpc(400, "PHONE_CODE_INVALID")
    account = account_by_phone(phone)
    if account is None:
        return types.auth.AuthorizationSignUpRequired()  # the code stays valid for auth.signUp
    call.db.execute("DELETE FROM codes WHERE hash = ?", (row["hash"],))
    return _finish_login(call, account.user_id)


# -- login email setup (auth.sentCodeTypeSetUpEmailRequired) -------------------------------------


def _setup_code(call: Call, purpose: types.TypeEmailVerifyPurpose, expired: str) -> sqlite3.Row:
    """The login code waiting for a login email (emailVerifyPurposeLoginSetup names it)."""
    if not isinstance(purpose, types.EmailVerifyPurposeLoginSetup):
        raise Rpc(400, "METHOD_NOT_SUPPORTED_BY_DEMO")  # login email changes and Passport
    row = _live_code(call, _valid_phone(purpose.phone_number), purpose.phone_code_hash, expired)
    if row["kinds"].split(",")[row["stage"]] != "SetUpEmailRequired":
        raise Rpc(400, "EMAIL_NOT_ALLOWED")
    return row


@handles(functions.account.SendVerifyEmailCodeRequest)
def send_verify_email_code(
    call: Call, request: functions.account.SendVerifyEmailCodeRequest
) -> types.account.SentEmailCode:
    row = _setup_code(call, request.purpose, "PHONE_HASH_EXPIRED")
    email = request.email.strip()
    if refused := email_refusal(email):
        raise Rpc(400, refused)
    code, ttl = code_for(row["phone"]) + code_for(row["phone"])[0], code_ttl(call.db)  # X six times
    call.db.execute(
        "INSERT OR REPLACE INTO email_codes (hash, email, code, key_id, sent, expires) VALUES (?, ?, ?, ?, ?, ?)",
        (row["hash"], email, code, call.key_id, call.now, call.now + ttl),
    )
    # The login attempt outlives the emailed code, so that another one can be asked for.
    call.db.execute("UPDATE codes SET expires = ? WHERE hash = ?", (call.now + 2 * ttl, row["hash"]))
    return types.account.SentEmailCode(email_pattern(email), len(code))


@handles(functions.account.VerifyEmailRequest)
def verify_email(call: Call, request: functions.account.VerifyEmailRequest) -> types.account.EmailVerifiedLogin:
    """The emailed code confirms the login email; the answer carries the login code, sent there."""
    row = _setup_code(call, request.purpose, "PHONE_CODE_EXPIRED")
    sent = call.db.execute("SELECT * FROM email_codes WHERE hash = ?", (row["hash"],)).fetchone()
    if sent is None or sent["key_id"] != call.key_id or sent["expires"] <= call.now:
        raise Rpc(400, "EMAIL_VERIFY_EXPIRED")
    if not isinstance(request.verification, types.EmailVerificationCode):
        raise Rpc(400, "EMAIL_TOKEN_INVALID")
    if not _same(request.verification.code, sent["code"]):
        raise Rpc(400, "CODE_INVALID")
    call.db.execute("UPDATE accounts SET login_email = ? WHERE phone = ?", (sent["email"], row["phone"]))
    call.db.execute("DELETE FROM email_codes WHERE hash = ?", (row["hash"],))
    call.db.execute("DELETE FROM codes WHERE hash = ?", (row["hash"],))
    sent_code = _announce(call.db, _new_code(call, row["phone"], ["EmailCode"]))
    return types.account.EmailVerifiedLogin(email=sent["email"], sent_code=sent_code)


# -- 2FA ----------------------------------------------------------------------------------------


def _password_owner(call: Call) -> int:
    user_id = call.key["pending_user_id"] or call.key["user_id"]
    if user_id is None:
        raise unauthorized()
    return int(user_id)


@handles(functions.account.GetPasswordRequest)
def get_password(call: Call, request: functions.account.GetPasswordRequest) -> types.account.Password:
    user_id = _password_owner(call)
    row = call.db.execute("SELECT * FROM accounts WHERE user_id = ?", (user_id,)).fetchone()
    account = account_by_id(user_id)
    assert account is not None and row is not None
    new_algo = srp.algo(os.urandom(8), os.urandom(16))
    new_secure_algo = types.SecurePasswordKdfAlgoPBKDF2HMACSHA512iter100000(salt=os.urandom(8))
    # What the owner set up around the password (none of it a secret: the emails only as patterns).
    login_email = account.email or row["login_email"]
    extras = {
        "login_email_pattern": email_pattern(login_email) if login_email else None,
        "email_unconfirmed_pattern": email_pattern(row["email_unconfirmed"]) if row["email_unconfirmed"] else None,
    }
    if row["verifier"] is None:
        return types.account.Password(
            new_algo=new_algo,
            new_secure_algo=new_secure_algo,
            secure_random=os.urandom(32),
            has_password=False,
            **extras,
        )
    b, big_b = srp.server_challenge(row["verifier"])
    srp_id = secrets.randbits(63)
    call.db.execute("DELETE FROM srp WHERE created < ?", (call.now - 3600,))
    call.db.execute(
        "INSERT INTO srp (srp_id, user_id, b, big_b, created) VALUES (?, ?, ?, ?, ?)",
        (srp_id, user_id, b, big_b, call.now),
    )
    return types.account.Password(
        new_algo=new_algo,
        new_secure_algo=new_secure_algo,
        secure_random=os.urandom(32),
        has_password=True,
        current_algo=srp.algo(row["salt1"], row["salt2"]),
        srp_B=big_b,
        srp_id=srp_id,
        hint=account.hint if row["hint"] is None else row["hint"],
        has_recovery=bool(row["recovery_email"]) or None,
        **extras,
    )


@handles(functions.auth.CheckPasswordRequest)
def check_password(call: Call, request: functions.auth.CheckPasswordRequest) -> types.auth.Authorization:
    user_id = _password_owner(call)
    verify_proof(call, user_id, request.password)
    if call.key["user_id"] is not None:
        account = account_by_id(user_id)
        assert account is not None
        return types.auth.Authorization(user=self_user(account))
    return keys.authorize(call.db, call.key_id, user_id, call.now)


# -- signed-in basics ---------------------------------------------------------------------------


@handles(functions.auth.LogOutRequest)
def log_out(call: Call, request: functions.auth.LogOutRequest) -> types.auth.LoggedOut:
    call.require_user()
    keys.unregister(call.db, call.key_id)
    return types.auth.LoggedOut()


@handles(functions.users.GetUsersRequest)
def get_users(call: Call, request: functions.users.GetUsersRequest) -> list:
    user_id = call.require_user()
    account = account_by_id(user_id)
    assert account is not None
    found: list = []
    for wanted in request.id:
        if isinstance(wanted, types.InputUserSelf) or getattr(wanted, "user_id", None) == user_id:
            found.append(self_user(account))
        elif isinstance(wanted, types.InputUser):
            users, _ = load_peers(call.db, user_id, [wanted.user_id])
            found.extend(users)
    return found


@handles(functions.updates.GetStateRequest)
def get_state(call: Call, request: functions.updates.GetStateRequest) -> types.updates.State:
    call.require_user()
    return types.updates.State(pts=1, qts=0, date=dt(call.now), seq=1, unread_count=0)


@handles(functions.updates.GetDifferenceRequest)
def get_difference(call: Call, request: functions.updates.GetDifferenceRequest) -> types.updates.DifferenceEmpty:
    call.require_user()
    return types.updates.DifferenceEmpty(date=dt(call.now), seq=1)


@handles(functions.updates.GetChannelDifferenceRequest)
def get_channel_difference(
    call: Call, request: functions.updates.GetChannelDifferenceRequest
) -> types.updates.ChannelDifferenceEmpty:
    call.require_user()
    return types.updates.ChannelDifferenceEmpty(pts=max(request.pts, 1), final=True)


__all__ = ["DEFAULT_CODE_TTL", "code_ttl"]
