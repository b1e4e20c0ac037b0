"""The terminal login of the telegram-agent plugin's generate_session.py, on teleconnect's boundary.

Prompts for API id and hash, phone, code and (if the account has one) the 2FA password, then
prints TELEGRAM_API_ID= / TELEGRAM_API_HASH= / TELEGRAM_SESSION= lines for a .env file, or with
--instance stores the session (encrypted) on that instance instead of printing it.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ConnectorInstance
from sessions_app.services.login import instance_adopt_session
from sessions_app.services.sessions import session_save_after_login
from sessions_app.telegram.client import ApiCredentials, default_credentials
from sessions_app.telegram.errors import CodeExpired, CodeInvalid, PasswordInvalid, PasswordNeeded, TelegramError
from sessions_app.telegram.login import SentCode, SignedIn, send_code, sign_in_code, sign_in_password

MAX_TRIES = 3


class Command(BaseCommand):
    help = "Log a Telegram account in from the terminal and print (or store) its session string."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--instance", metavar="SESSION", help="store the session on this instance instead of printing it"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.input: TextIO = options.get("stdin") or sys.stdin
        instance = None
        if options["instance"]:
            instance = ConnectorInstance.objects.filter(session=options["instance"]).first()
            if instance is None:
                raise CommandError(
                    f"No instance with SESSION {options['instance']!r}. Create it in the dashboard first."
                )
        try:
            api = self._ask_credentials()
            phone = self._ask("Phone number (with country code, e.g. +1234567890): ")
            sent = send_code(session="", phone=phone, api=api)
            signed_in = self._sign_in(phone, sent, api)
        except TelegramError as exc:
            raise CommandError(exc.message) from None
        except EOFError:
            raise CommandError("Input ended before the login finished; nothing was stored.") from None
        if instance is not None:
            instance_adopt_session(
                instance=instance,
                actor=None,
                session_string=signed_in.session,
                account=signed_in.account,
                method="generate_session",
            )
            problem = session_save_after_login(instance=instance, actor=None)
            self.stdout.write(
                f"Logged in as {signed_in.account.name}; the session is stored (encrypted) on instance {instance.session}."
            )
            if problem:
                self.stderr.write(f"It is not in the session store yet: {problem} Use Save on the instance page.")
            else:
                self.stdout.write(f"Saved to {instance.object_key}.")
            return
        self.stderr.write(f"Logged in as {signed_in.account.name}. Keep these lines secret; never commit them.")
        self.stdout.write(f"TELEGRAM_API_ID={api.api_id}")
        self.stdout.write(f"TELEGRAM_API_HASH={api.api_hash}")
        self.stdout.write(f"TELEGRAM_SESSION={signed_in.session}")

    def _ask(self, prompt: str, *, secret: bool = False) -> str:
        if secret and self.input is sys.stdin and sys.stdin.isatty():
            return getpass.getpass(prompt).strip()
        self.stderr.write(prompt, ending="")
        self.stderr.flush()
        line = self.input.readline()
        if not line:
            raise EOFError
        return line.strip()

    def _ask_credentials(self) -> ApiCredentials:
        default = default_credentials()
        raw_id = self._ask(f"API ID [{default.api_id}]: ") or str(default.api_id)
        if not raw_id.isdigit():
            raise CommandError("The API ID is a number (see my.telegram.org, API development tools).")
        raw_hash = (
            self._ask("API Hash [configured]: " if default.api_hash else "API Hash: ", secret=True) or default.api_hash
        )
        return ApiCredentials(api_id=int(raw_id), api_hash=raw_hash)

    def _sign_in(self, phone: str, sent: SentCode, api: ApiCredentials) -> SignedIn:
        session = sent.session
        for attempt in range(1, MAX_TRIES + 1):
            code = self._ask("Code Telegram sent you: ")
            try:
                return sign_in_code(
                    session=session, phone=phone, code=code, phone_code_hash=sent.phone_code_hash, api=api
                )
            except PasswordNeeded as needed:
                return self._password(needed, api)
            except (CodeInvalid, CodeExpired) as exc:
                if attempt == MAX_TRIES or isinstance(exc, CodeExpired):
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong codes.")

    def _password(self, needed: PasswordNeeded, api: ApiCredentials) -> SignedIn:
        hint = f" (hint: {needed.hint})" if needed.hint else ""
        for attempt in range(1, MAX_TRIES + 1):
            password = self._ask(f"Two-step verification password{hint}: ", secret=True)
            try:
                return sign_in_password(session=needed.session, password=password, api=api)
            except PasswordInvalid as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong passwords.")
