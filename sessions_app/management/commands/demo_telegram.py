"""`manage.py demo_telegram ...`: in demo mode, do to the demo Telegram what real accounts do to a fleet.

- ``terminate-all PHONE``: the owner taps "Terminate all other sessions" on the account's phone;
  every other session, the connector's and the dashboard's included, answers SESSION_REVOKED.
- ``stumble-next-mint [COUNT]``: the next COUNT keys the dashboard mints by login token answer
  AUTH_KEY_UNREGISTERED once, as a key does for a second while it propagates between data centres.
- ``foreign-login PHONE [--device D --app A --api-id N --ip IP --country CC]``: someone the team does
  not know logs in to the account.
- ``two-step-off PHONE``: the owner switches two-step verification off.
- ``two-step-reset PHONE [--days N]``: someone without the password asks Telegram to reset it
  (account.resetPassword); it is removed in N days (default 7) unless the owner declines.
- ``ban PHONE [--deleted]`` / ``unban PHONE``: Telegram bans (or deletes) the account, and lifts it.
- ``freeze PHONE [--appeal-url URL]`` / ``unfreeze PHONE``: Telegram freezes the account, and unfreezes it.
- ``move-connector SESSION --ip IP --country CC``: the connector's machine of that instance moves.
- ``age-keys PHONE HOURS``: every authorization of the account becomes HOURS older, so the 24-hour rule
  (a session ends others only once it is a day old) can be tried now.
- ``drop-connections SESSION [N] [--down-seconds S]``: the network under the dashboard's key of that
  instance breaks at its Nth request from now and stays down S seconds (an archive run reconnects).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ConnectorInstance
from sessions_app.telegram import demo
from sessions_app.telegram.errors import TelegramError

if TYPE_CHECKING:
    from sessions_app.telegram.fake import DemoTelegram


class Command(BaseCommand):
    help = (
        "Demo mode only: do to a demo account what real life does "
        "(logins, 2FA, bans, freezes, moves, aged keys, dropped connections)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        terminate = actions.add_parser("terminate-all", help="end every session but the phone's (SESSION_REVOKED)")
        terminate.add_argument("phone", help="the demo account's phone number, e.g. 9996621001")
        stumble = actions.add_parser("stumble-next-mint", help="the next minted keys answer AUTH_KEY_UNREGISTERED once")
        stumble.add_argument("count", nargs="?", type=int, default=1)

        foreign = actions.add_parser("foreign-login", help="someone else logs in to the account")
        foreign.add_argument("phone")
        foreign.add_argument("--device", default="iPhone 15 Pro")
        foreign.add_argument("--platform", default="iOS")
        foreign.add_argument("--app", default="Telegram iOS")
        foreign.add_argument("--app-version", default="12.2")
        foreign.add_argument("--api-id", type=int, default=6)
        foreign.add_argument("--ip", default="198.51.100.23")
        foreign.add_argument("--country", default="NL")
        for name, what in (
            ("two-step-off", "the owner switches two-step verification off"),
            ("unban", "Telegram lifts the ban"),
            ("unfreeze", "Telegram unfreezes the account"),
        ):
            actions.add_parser(name, help=what).add_argument("phone")
        reset = actions.add_parser("two-step-reset", help="someone without the password asks to reset it")
        reset.add_argument("phone")
        reset.add_argument("--days", type=float, default=7.0, help="until the password is removed (default 7)")
        ban = actions.add_parser("ban", help="Telegram bans the account (USER_DEACTIVATED_BAN)")
        ban.add_argument("phone")
        ban.add_argument("--deleted", action="store_true", help="deleted instead (USER_DEACTIVATED)")
        freeze = actions.add_parser("freeze", help="Telegram freezes the account (FROZEN_METHOD_INVALID)")
        freeze.add_argument("phone")
        freeze.add_argument("--appeal-url", default="https://t.me/spambot")
        move = actions.add_parser("move-connector", help="the connector's machine of an instance moves")
        move.add_argument("session", help="the instance's SESSION name")
        move.add_argument("--ip", required=True)
        move.add_argument("--country", required=True)
        age = actions.add_parser("age-keys", help="every authorization of the account becomes HOURS older")
        age.add_argument("phone")
        age.add_argument("hours", type=float, help="e.g. 25: past the 24-hour rule")
        drop = actions.add_parser("drop-connections", help="the network under an instance's dashboard key breaks")
        drop.add_argument("session", help="the instance's SESSION name")
        drop.add_argument("requests", nargs="?", type=int, default=1, help="at its Nth request from now (default 1)")
        drop.add_argument("--down-seconds", type=float, default=0.0, help="how long it stays down (default 0)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(self.act(options["action"], options))
        except TelegramError as error:
            raise CommandError(error.message) from None

    def act(self, action: str, options: dict[str, Any]) -> str:
        phone = options.get("phone", "")
        if action == "terminate-all":
            ended = demo.demo_terminate_all_from_phone(phone)
            return (
                f"Terminated {ended} session(s) from the phone of {phone}: each now answers "
                "SESSION_REVOKED. The next health check reports the connector gone."
            )
        if action == "stumble-next-mint":
            demo.demo_stumble_next_minted_keys(max(options["count"], 0))
            return f"The next {options['count']} minted key(s) answer AUTH_KEY_UNREGISTERED once."
        if action == "foreign-login":
            auth_hash = demo.demo_foreign_login(
                phone,
                device_model=options["device"],
                platform=options["platform"],
                app_name=options["app"],
                app_version=options["app_version"],
                api_id=options["api_id"],
                ip=options["ip"],
                country=options["country"],
            )
            return (
                f"{options['device']} ({options['app']}) logged in to {phone} from {options['ip']} "
                f"({options['country']}); its authorization hash is {auth_hash}."
            )
        if action == "two-step-off":
            demo.demo_two_step_off(phone)
            return f"Two-step verification of {phone} is off: account.getPassword says has_password false."
        if action == "two-step-reset":
            return self.two_step_reset(phone, days=options["days"])
        if action == "ban":
            demo.demo_ban(phone, deleted=options["deleted"])
            answer = "USER_DEACTIVATED" if options["deleted"] else "USER_DEACTIVATED_BAN"
            return f"{phone} is {'deleted' if options['deleted'] else 'banned'}: every key of it answers {answer}."
        if action == "unban":
            demo.demo_unban(phone)
            return f"{phone} is no longer banned: its keys work again."
        if action == "freeze":
            demo.demo_freeze(phone, appeal_url=options["appeal_url"])
            return f"{phone} is frozen: acting methods answer FROZEN_METHOD_INVALID; appeal at {options['appeal_url']}."
        if action == "unfreeze":
            demo.demo_unfreeze(phone)
            return f"{phone} is no longer frozen."
        if action == "age-keys":
            return self.age_keys(phone, hours=options["hours"])
        if action == "drop-connections":
            return self.drop_connections(
                options["session"], after_requests=options["requests"], down_seconds=options["down_seconds"]
            )
        return self.move_connector(options["session"], ip=options["ip"], country=options["country"])

    def two_step_reset(self, phone: str, *, days: float) -> str:
        if not days > 0:
            raise CommandError(f"--days must be a positive number of days, got {days:g}.")
        world = _world("Requesting a password reset")
        try:
            due = world.two_step_reset_requested(phone.lstrip("+"), days=days)
        except ValueError as exc:
            raise CommandError(f"The demo Telegram refused: {exc}") from None
        return (
            f"A reset of the two-step verification password of {phone} was requested: account.getPassword "
            f"says pending_reset_date {due:%Y-%m-%d %H:%M} UTC, when the password is removed unless declined."
        )

    def age_keys(self, phone: str, *, hours: float) -> str:
        from sessions_app.telegram.fake.accounts import account_by_phone

        if not hours > 0:
            raise CommandError(f"HOURS must be a positive number of hours (e.g. 25), got {hours:g}.")
        world = _world("Aging keys")
        account = account_by_phone(phone.lstrip("+"))
        if account is None:
            raise CommandError(f"The demo Telegram refused: {phone} is not a demo account")
        world.age_authorizations(account.user_id, hours * 3600)
        aged = len(world.authorizations(account.user_id))
        return (
            f"The {aged} authorization(s) of {phone} are now {hours:g} hours older: "
            "those past 24 hours may terminate other sessions."
        )

    def drop_connections(self, session: str, *, after_requests: int, down_seconds: float) -> str:
        if after_requests < 1 or down_seconds < 0:
            raise CommandError("N must be 1 or more, and --down-seconds 0 or more.")
        world = _world("Dropping connections")
        instance = ConnectorInstance.objects.filter(session=session).first()
        if instance is None:
            raise CommandError(f"No instance has the SESSION name {session!r}.")
        if not instance.has_dashboard_key:
            raise CommandError(f"{session} has no dashboard key yet: log the instance in first.")
        try:
            world.drop_connections(instance.dashboard_session, after_requests=after_requests, down_seconds=down_seconds)
        except LookupError as exc:
            raise CommandError(f"The demo Telegram refused: {exc}") from None
        return (
            f"The dashboard's connection of {session} breaks at its request number {after_requests} from now "
            f"and stays down {down_seconds:g} s; a running archive run reconnects by itself."
        )

    def move_connector(self, session: str, *, ip: str, country: str) -> str:
        instance = ConnectorInstance.objects.filter(session=session).first()
        if instance is None:
            raise CommandError(f"No instance has the SESSION name {session!r}.")
        auth_hash = instance.connector_authorization_hash
        if auth_hash is None:
            raise CommandError(
                f"The dashboard does not know the connector's authorization of {session} yet: "
                "run a health check of the instance first."
            )
        phone = instance.phone or demo.demo_phone_of(
            user_id=instance.telegram_user_id, authorization_hash=None if instance.telegram_user_id else auth_hash
        )
        if not phone:
            raise CommandError(
                f"The connector's authorization of {session} is no longer active on a demo account "
                "(it was terminated or logged out)."
            )
        demo.demo_move_key(phone, auth_hash, ip=ip, country=country)
        return f"The connector of {session} is now seen from {ip} ({country})."


def _world(what: str) -> DemoTelegram:
    from sessions_app.telegram.fake import DemoTelegram

    if not demo.demo_available():
        raise CommandError(f"{what} only exists in demo mode.")
    return DemoTelegram.from_settings()
