"""Make a personal API token for a user and print it (once): for bootstrapping a script or CI."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sessions_app.services.api_tokens import EXPIRES_DAYS_MAX, api_token_create
from sessions_app.services.errors import ActionRefused


class Command(BaseCommand):
    help = (
        "Print a new API token acting as USERNAME (never more than their role on each instance). "
        "It is shown only this once; only its hash is kept."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="Where the token is used; the audit names it.")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help=f"1 to {EXPIRES_DAYS_MAX}; without it the token lasts until it is revoked on /account/tokens/.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(
                f"No active user {options['username']!r}: create the user first (manage.py createsuperuser)."
            )
        try:
            new = api_token_create(user=user, name=options["name"], expires_days=options["expires_days"], via="command")
        except ActionRefused as refusal:
            raise CommandError(refusal.message) from None
        expiry = f"expires {new.token.expires_at:%Y-%m-%d %H:%M}" if new.token.expires_at else "never expires"
        self.stderr.write(f"API token “{new.token.name}” for {user.get_username()} ({expiry}); shown only this once:")
        self.stdout.write(new.secret)
