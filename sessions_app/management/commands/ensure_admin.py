"""Create the team's first admin (a superuser) unless one already exists.

scripts/run calls this on every start, so it must be idempotent and must print a password only
on the run that created it: a generated password is shown once, never stored in plain text.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError, transaction

from teleconnect.env import env_secret, env_str

DEFAULT_LOGIN_URL = "http://127.0.0.1:8000/accounts/login/"


class Command(BaseCommand):
    help = (
        "Create the admin superuser if there is none: username TELECONNECT_ADMIN_USERNAME (default 'admin'), "
        "password TELECONNECT_ADMIN_PASSWORD (or _FILE), else a generated one printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--login-url", default=DEFAULT_LOGIN_URL, help="The sign-in address to print.")

    def handle(self, *args: Any, login_url: str, **options: Any) -> None:
        User = get_user_model()
        existing = list(
            User.objects.filter(is_superuser=True).order_by("pk").values_list(User.USERNAME_FIELD, flat=True)[:3]
        )
        if existing:
            names = ", ".join(existing)
            self.stdout.write(f"An admin already exists ({names}); no user was created.")
            return

        username = env_str("TELECONNECT_ADMIN_USERNAME", "admin")
        chosen_password = env_secret("TELECONNECT_ADMIN_PASSWORD")
        password = chosen_password or secrets.token_urlsafe(12)
        user = User(**{User.USERNAME_FIELD: username})
        if chosen_password:
            try:
                validate_password(chosen_password, user)
            except ValidationError as exc:
                problems = " ".join(exc.messages)
                raise CommandError(
                    f"TELECONNECT_ADMIN_PASSWORD is too weak: {problems} "
                    "Choose a stronger one, or unset it to get a generated password."
                ) from None

        try:
            with transaction.atomic():
                User.objects.create_superuser(**{User.USERNAME_FIELD: username, "password": password})
        except IntegrityError:
            raise CommandError(
                f"A user named {username!r} exists but is not a superuser, so no admin was created. Set "
                "TELECONNECT_ADMIN_USERNAME to another name, or create a superuser yourself with "
                "`python manage.py createsuperuser`."
            ) from None

        shown = "the password in TELECONNECT_ADMIN_PASSWORD" if chosen_password else password
        lines = [
            "teleconnect admin created",
            "",
            f"Sign in at {login_url} as {username} / {shown}",
        ]
        if not chosen_password:
            lines.append("This password is shown only once: keep it in your password manager.")
        self.stdout.write(_box(lines))


def _box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    border = "+" + "-" * (width + 2) + "+"
    body = [f"| {line.ljust(width)} |" for line in lines]
    return "\n".join([border, *body, border])
