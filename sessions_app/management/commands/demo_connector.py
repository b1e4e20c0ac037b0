"""`manage.py demo_connector SESSION`: in demo mode, hold a session's key the way a connector service does.

It loads the store object exactly as a connector's load() does and keeps the key connected from
another IP (--ip), so what Telegram does to a key used from two places at once can be seen from
the dashboard: any request on that key from elsewhere kills it (AUTH_KEY_DUPLICATED).
"""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.storage import StoreError, get_session_storage
from sessions_app.telegram.demo import CONNECTOR_IP, demo_connector_hold
from sessions_app.telegram.errors import TelegramError


def _ip(value: str) -> str:
    return str(ipaddress.ip_address(value))  # argparse turns the ValueError into a usage error


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl+C and SIGTERM set ``stop`` instead of killing the process, so the key is let go cleanly."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda *_: stop.set())
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Command(BaseCommand):
    help = "Demo mode only: hold SESSION's key connected from another IP, like a running connector service."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session", help="the instance's SESSION namespace (its store object is loaded)")
        parser.add_argument(
            "--ip", type=_ip, default=CONNECTOR_IP, help=f"the IP the connection comes from (default {CONNECTOR_IP})"
        )
        parser.add_argument("--seconds", type=float, default=None, metavar="N", help="stop after N seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        session, ip = options["session"], options["ip"]
        if not settings.TELEGRAM_DEMO:
            raise CommandError(
                "demo_connector only runs in demo mode (TELEGRAM_API_ID unset or 0): it holds keys of the "
                "demo Telegram. A real connector service holds real keys."
            )
        try:
            loaded = get_session_storage().load(session)
        except (ValueError, StoreError) as exc:
            raise CommandError(str(exc)) from None
        if loaded.is_fresh:
            raise CommandError(
                f"The store object of SESSION {session!r} is empty or missing: a connector would start a fresh "
                "login. Log in or import a session for this instance first."
            )

        def announce(name: str) -> None:
            self.stdout.write(f"holding {session} from {ip} as {name}; Ctrl+C to stop")
            self.stdout.flush()

        stop = threading.Event()
        try:
            with _stop_on_signals(stop):
                run = demo_connector_hold(
                    loaded.content, ip=ip, seconds=options["seconds"], stop=stop, on_holding=announce
                )
        except TelegramError as exc:
            raise CommandError(exc.message) from None
        if run.key_died and run.account_name:
            raise CommandError(f"the key of {session} died while held from {ip}: Telegram answered {run.key_died}")
        if run.key_died:
            raise CommandError(
                f"the key in {session}'s store object does not work: Telegram answered {run.key_died}. "
                "Log in again for this instance."
            )
        self.stdout.write(f"stopped holding {session}")
