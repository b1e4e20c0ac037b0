"""Knobs for what happens to an account behind the dashboard's back (issue 18, "Security watch").

Someone else logs in, the owner switches two-step verification off or changes its email,
someone without the password asks to reset it, Telegram bans, deletes or freezes the account, the
connector's machine moves to another country. :class:`SecurityKnobs` is a base of :class:`Knobs`;
it only needs ``store`` and ``clock``.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable

from telethon.crypto import AuthKey
from telethon.tl import functions

from sessions_app.telegram.fake import keys, login, password, security
from sessions_app.telegram.fake.accounts import DemoAccount, account_by_phone
from sessions_app.telegram.fake.keys import DAY
from sessions_app.telegram.fake.rpc import handles
from sessions_app.telegram.fake.seed import verifier_for
from sessions_app.telegram.fake.store import Store

# account.getPassword lives in fake/login.py (which imports fake/password.py, so it cannot be wrapped
# there); here, imported after login, it also reports the reset request the knob below makes.
handles(functions.account.GetPasswordRequest)(password.with_reset_request(login.get_password))


def _account(phone: str) -> DemoAccount:
    account = account_by_phone(phone)
    if account is None:
        raise ValueError(f"{phone} is not a demo account")
    return account


def _timestamp(value: datetime.datetime | float | None) -> float | None:
    if value is None:
        return None
    return value.timestamp() if isinstance(value, datetime.datetime) else float(value)


class SecurityKnobs:
    """Things that happen to an account that the dashboard only learns about by asking Telegram."""

    store: Store
    clock: Callable[[], float]

    def foreign_login(
        self,
        phone: str,
        *,
        device_model: str = "iPhone 15 Pro",
        platform: str = "iOS",
        app_name: str = "Telegram iOS",
        app_version: str = "12.2",
        api_id: int = 6,
        ip: str = "198.51.100.23",
        country: str = "NL",
    ) -> int:
        """Someone logs in to ``phone``'s account on a device the dashboard never saw.

        The new authorization shows in account.getAuthorizations of every key of the account with
        these labels, from ``ip`` in ``country``; returns its hash.
        """
        account = _account(phone)
        key, now = os.urandom(256), self.clock()
        auth_hash = keys.new_auth_hash()
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO auth_keys (key_id, key_digest, dc, created, user_id, auth_hash, date_created,"
                " date_active, ip, device_model, platform, system_version, api_id, app_name, app_version,"
                " official) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    keys.signed(AuthKey(key).key_id),
                    keys.digest(key),
                    account.dc,
                    now,
                    account.user_id,
                    auth_hash,
                    now,
                    now,
                    ip,
                    device_model,
                    platform,
                    platform,
                    api_id,
                    app_name,
                    app_version,
                    int(api_id in security.OFFICIAL_API_IDS),
                ),
            )
            security.place(db, ip, country)
        return auth_hash

    def move_key(self, phone: str, authorization_hash: int, *, ip: str, country: str) -> None:
        """The machine holding that authorization moved: its requests come from ``ip`` in ``country`` now."""
        account = _account(phone)
        with self.store.tx() as db:
            found = db.execute(
                "UPDATE auth_keys SET ip = ?, seen_ip = ? WHERE user_id = ? AND auth_hash = ?",
                (ip, ip, account.user_id, int(authorization_hash)),
            ).rowcount
            if not found:
                raise LookupError(f"{phone} has no active session with hash {authorization_hash}")
            security.place(db, ip, country)

    def two_step_off(self, phone: str) -> None:
        """The owner switches two-step verification off (account.getPassword: has_password False)."""
        account = _account(phone)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET salt1 = NULL, salt2 = NULL, verifier = NULL, hint = '', recovery_email = NULL,"
                " email_unconfirmed = NULL, password_reset_at = NULL WHERE user_id = ?",
                (account.user_id,),
            )

    def two_step_on(self, phone: str, password: str, *, hint: str = "") -> None:
        """The owner sets (or changes) the two-step verification password."""
        account = _account(phone)
        verifier = verifier_for(password)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET salt1 = ?, salt2 = ?, verifier = ?, hint = ?, password_reset_at = NULL"
                " WHERE user_id = ?",
                (verifier.salt1, verifier.salt2, verifier.v, hint, account.user_id),
            )

    def two_step_reset_requested(self, phone: str, *, days: float = 7) -> datetime.datetime:
        """Someone without the password asks Telegram to reset it (account.resetPassword).

        account.getPassword then reports ``pending_reset_date`` (returned): the password is removed
        then unless the owner declines the reset. Only for an account with a password.
        """
        account = _account(phone)
        due = self.clock() + days * DAY
        with self.store.tx() as db:
            found = db.execute(
                "UPDATE accounts SET password_reset_at = ? WHERE user_id = ? AND verifier IS NOT NULL",
                (due, account.user_id),
            ).rowcount
        if not found:
            raise ValueError(f"{phone} has no two-step verification password to reset")
        return datetime.datetime.fromtimestamp(int(due), tz=datetime.UTC)

    def recovery_email_set(self, phone: str, email: str | None) -> None:
        """The owner sets (``None``: removes) the recovery email of two-step verification.

        account.getPassword then reports has_recovery; the address itself Telegram never shows.
        """
        account = _account(phone)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET recovery_email = ?, email_unconfirmed = NULL WHERE user_id = ?",
                (email or None, account.user_id),
            )

    def ban(self, phone: str, *, deleted: bool = False) -> None:
        """Telegram bans (``deleted``: deletes) the account: every request of every key of it answers
        401 USER_DEACTIVATED_BAN (USER_DEACTIVATED) until :meth:`unban`. The keys are kept."""
        account = _account(phone)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET deactivated = ? WHERE user_id = ?",
                (security.DELETED if deleted else security.BANNED, account.user_id),
            )

    def unban(self, phone: str) -> None:
        """The ban is lifted: the account's keys work again."""
        account = _account(phone)
        with self.store.tx() as db:
            db.execute("UPDATE accounts SET deactivated = NULL WHERE user_id = ?", (account.user_id,))

    def freeze(
        self,
        phone: str,
        *,
        appeal_url: str = "https://t.me/spambot",
        until: datetime.datetime | float | None = None,
    ) -> None:
        """Telegram freezes the account: methods a frozen account may not use answer 420
        FROZEN_METHOD_INVALID, and help.getAppConfig reports freeze_since_date (now),
        freeze_until_date (``until``, when the account is deleted unless unfrozen) and
        freeze_appeal_url (``appeal_url``, "" for none)."""
        account = _account(phone)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET frozen_since = ?, frozen_until = ?, frozen_appeal = ? WHERE user_id = ?",
                (self.clock(), _timestamp(until), appeal_url, account.user_id),
            )

    def unfreeze(self, phone: str) -> None:
        """The appeal succeeded: the account works as before."""
        account = _account(phone)
        with self.store.tx() as db:
            db.execute(
                "UPDATE accounts SET frozen_since = NULL, frozen_until = NULL, frozen_appeal = NULL WHERE user_id = ?",
                (account.user_id,),
            )
