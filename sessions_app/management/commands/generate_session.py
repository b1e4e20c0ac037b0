"""The terminal login of the telegram-agent plugin's generate_session.py, on teleconnect's boundary.

Prompts for API id and hash, phone, the login email when Telegram wants one set up first (and the
code it emails there), the code (saying where Telegram sent it) and, if the account has one, the
2FA password, then prints TELEGRAM_API_ID= / TELEGRAM_API_HASH= / TELEGRAM_SESSION= lines for a
.env file, or with --instance stores the session (encrypted) on that instance instead of printing it.

Every step goes through the services like the login page's. With --instance they are the page's
own steps (services.login: the instance's lease and pending state, the send-code limits, the
audit, the object written, the dashboard's key minted, the replaced key retired); without one,
services.login_terminal (the same per-phone send-code limit and audit rows, with no instance).
"""

from __future__ import annotations

import getpass
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.forms import EmailForm, PhoneForm, code_prompt
from sessions_app.models import ConnectorInstance, InstanceStatus, LoginStep
from sessions_app.selectors.instances import pending_login_for
from sessions_app.services import login as login_service
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instances import instance_credentials
from sessions_app.services.login_terminal import (
    terminal_send_code,
    terminal_send_email_code,
    terminal_sign_in_code,
    terminal_sign_in_password,
    terminal_verify_login_email,
)
from sessions_app.telegram.client import ApiCredentials, default_credentials
from sessions_app.telegram.errors import (
    CodeEmpty,
    CodeInvalid,
    EmailCodeInvalid,
    EmailSetupCodeInvalid,
    PasswordInvalid,
    PasswordNeeded,
    TelegramError,
    WordInvalid,
)
from sessions_app.telegram.login import EMAIL_SETUP, SET_UP_EMAIL, SentCode, SignedIn

MAX_TRIES = 3
# A mistyped code is asked for again; an expired one (or any other error) ends the command.
RETYPE = (CodeInvalid, CodeEmpty, WordInvalid, EmailCodeInvalid, EmailSetupCodeInvalid)


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
            api = self._ask_credentials(instance)
            phone = self._ask_phone()
            if instance is not None:
                self._log_instance_in(instance, phone)
            else:
                sent = terminal_send_code(phone=phone, api=api)
                if sent.code_type == SET_UP_EMAIL:
                    sent = self._set_up_email(phone, sent, api)
                signed_in = self._sign_in(phone, sent, api)
        except (TelegramError, ActionRefused) as exc:
            raise CommandError(exc.message) from None
        except EOFError:
            raise CommandError("Input ended before the login finished; nothing was stored.") from None
        if instance is not None:
            self._report_stored(instance)
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

    def _ask_credentials(self, instance: ConnectorInstance | None) -> ApiCredentials:
        # An instance logs in with its own API id/hash (or the dashboard's), as on the login page.
        default = instance_credentials(instance) if instance is not None else default_credentials()
        raw_id = self._ask(f"API ID [{default.api_id}]: ") or str(default.api_id)
        if not raw_id.isdigit():
            raise CommandError("The API ID is a number (see my.telegram.org, API development tools).")
        raw_hash = (
            self._ask("API Hash [configured]: " if default.api_hash else "API Hash: ", secret=True) or default.api_hash
        )
        api = ApiCredentials(api_id=int(raw_id), api_hash=raw_hash)
        if instance is not None and api != default:
            raise CommandError(
                f"Instance {instance.session} logs in with API ID {default.api_id} (its own, or the dashboard's "
                "TELEGRAM_API_ID and hash). Press Enter at both prompts, or change the instance's API ID and hash "
                "in the dashboard first."
            )
        return api

    def _ask_phone(self) -> str:
        """The number as the login page takes it (so the send-code limit counts it as the same number)."""
        form = PhoneForm({"phone": self._ask("Phone number (with country code, e.g. +1234567890): ")})
        if not form.is_valid():
            raise CommandError(" ".join(str(error) for error in form.errors["phone"]))
        phone: str = form.cleaned_data["phone"]
        return phone

    def _ask_code(self, code_type: str, length: int | None, hint: str, next_type: str = "") -> str:
        """The code, asked with where Telegram sent it ("by SMS", "by email to d***@example.com", ...)."""
        prompt = code_prompt(code_type, length, hint, next_type)
        where = f" ({prompt.where})" if prompt.where else ""
        return self._ask(f"Code Telegram sent you{where}: ")

    def _ask_email(self) -> str:
        self.stderr.write("Telegram wants a login email set up for this account before it sends a login code.")
        for attempt in range(1, MAX_TRIES + 1):
            form = EmailForm({"email": self._ask("Login email (Telegram emails a code to it now): ")})
            if form.is_valid():
                email: str = form.cleaned_data["email"]
                return email
            if attempt == MAX_TRIES:
                raise CommandError(" ".join(str(error) for error in form.errors["email"]))
            self.stderr.write(" ".join(str(error) for error in form.errors["email"]))
        raise CommandError("No login email given.")

    def _set_up_email(self, phone: str, sent: SentCode, api: ApiCredentials) -> SentCode:
        """The login email first: the address, the code Telegram emails there; returns the login code's SentCode."""
        emailed = terminal_send_email_code(sent=sent, phone=phone, email=self._ask_email(), api=api)
        for attempt in range(1, MAX_TRIES + 1):
            code = self._ask_code(emailed.code_type, emailed.length, emailed.hint)
            try:
                return terminal_verify_login_email(sent=emailed, phone=phone, code=code, api=api)
            except RETYPE as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong codes.")

    def _sign_in(self, phone: str, sent: SentCode, api: ApiCredentials) -> SignedIn:
        for attempt in range(1, MAX_TRIES + 1):
            code = self._ask_code(sent.code_type, sent.length, sent.hint, sent.next_type)
            try:
                return terminal_sign_in_code(sent=sent, phone=phone, code=code, api=api)
            except PasswordNeeded as needed:
                return self._password(needed, api)
            except RETYPE as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong codes.")

    def _password(self, needed: PasswordNeeded, api: ApiCredentials) -> SignedIn:
        hint = f" (hint: {needed.hint})" if needed.hint else ""
        for attempt in range(1, MAX_TRIES + 1):
            password = self._ask(f"Two-step verification password{hint}: ", secret=True)
            try:
                return terminal_sign_in_password(needed=needed, password=password, api=api)
            except PasswordInvalid as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong passwords.")

    # With --instance, the steps of the login page (services.login): the instance's lease, its
    # pending state and send-code limits, the audit, the object written and the dashboard's key
    # minted. The command has no team user: the steps are audited with no actor.

    def _log_instance_in(self, instance: ConnectorInstance, phone: str) -> None:
        pending = login_service.login_send_code(instance=instance, actor=None, phone=phone)
        try:
            if pending.step == LoginStep.EMAIL:
                login_service.login_submit_email(instance=instance, actor=None, email=self._ask_email())
            if self._enter_code(instance):
                self._enter_password(instance)
        except BaseException:
            # Nobody else continues a login started here: the instance goes back to what it was.
            login_service.login_cancel(instance=instance, actor=None)
            raise

    def _enter_code(self, instance: ConnectorInstance) -> bool:
        """The code step; True when the account has 2FA and the password step comes next.

        A code confirming a new login email is followed by the login code (Telegram emails it).
        """
        attempt = 0
        while attempt < MAX_TRIES:
            attempt += 1
            pending = pending_login_for(instance)
            if pending is None:
                return False
            code = self._ask_code(pending.code_type, pending.code_length, pending.code_hint, pending.next_type)
            try:
                login_service.login_submit_code(instance=instance, actor=None, code=code)
            except RETYPE as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
                continue
            after = pending_login_for(instance)
            if pending.code_type == EMAIL_SETUP and after is not None and after.step == LoginStep.CODE:
                attempt = 0  # the email is confirmed: now the login code itself
                continue
            return after is not None and after.step == LoginStep.PASSWORD
        raise CommandError("Too many wrong codes.")

    def _enter_password(self, instance: ConnectorInstance) -> None:
        pending = pending_login_for(instance)
        hint = f" (hint: {pending.password_hint})" if pending is not None and pending.password_hint else ""
        for attempt in range(1, MAX_TRIES + 1):
            password = self._ask(f"Two-step verification password{hint}: ", secret=True)
            try:
                login_service.login_submit_password(
                    instance=instance,
                    actor=None,
                    password=password,
                )
                return
            except PasswordInvalid as exc:
                if attempt == MAX_TRIES:
                    raise
                self.stderr.write(exc.message)
        raise CommandError("Too many wrong passwords.")

    def _report_stored(self, instance: ConnectorInstance) -> None:
        instance.refresh_from_db()
        self.stdout.write(
            f"Logged in as {instance.telegram_name}; the session is stored (encrypted) on instance {instance.session}."
        )
        if instance.status == InstanceStatus.UNSAVED:
            self.stderr.write(
                f"It is not in the session store yet: {instance.last_error} Use Save on the instance page."
            )
        else:
            self.stdout.write(f"Saved to {instance.object_key}.")
        if not instance.dashboard_session:
            self.stderr.write(
                "The dashboard could not make its own authorization of this account"
                + (f" ({instance.dashboard_key_error})" if instance.dashboard_key_error else "")
                + ". Use “Mint the dashboard's authorization” on the instance page."
            )
