"""`manage.py demo_telegram ...`: in demo mode, do to the demo Telegram what real accounts do to a fleet.

- ``terminate-all PHONE``: the owner taps "Terminate all other sessions" on the account's phone;
  every other session, the connector's and the dashboard's included, answers SESSION_REVOKED.
- ``stumble-next-mint [COUNT]``: the next COUNT keys the dashboard mints by login token answer
  AUTH_KEY_UNREGISTERED once, as a key does for a second while it propagates between data centres.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.telegram.demo import demo_stumble_next_minted_keys, demo_terminate_all_from_phone
from sessions_app.telegram.errors import TelegramError


class Command(BaseCommand):
    help = "Demo mode only: terminate all sessions from an account's phone, or make the next minted keys stumble."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        terminate = actions.add_parser("terminate-all", help="end every session but the phone's (SESSION_REVOKED)")
        terminate.add_argument("phone", help="the demo account's phone number, e.g. 9996621001")
        stumble = actions.add_parser("stumble-next-mint", help="the next minted keys answer AUTH_KEY_UNREGISTERED once")
        stumble.add_argument("count", nargs="?", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "terminate-all":
                ended = demo_terminate_all_from_phone(options["phone"])
                self.stdout.write(
                    f"Terminated {ended} session(s) from the phone of {options['phone']}: each now answers "
                    "SESSION_REVOKED. The next health check reports the connector gone."
                )
            else:
                demo_stumble_next_minted_keys(max(options["count"], 0))
                self.stdout.write(f"The next {options['count']} minted key(s) answer AUTH_KEY_UNREGISTERED once.")
        except TelegramError as error:
            raise CommandError(error.message) from None
