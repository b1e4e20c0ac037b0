"""`manage.py check_sessions [SESSION ...]`: one health check of each instance now, one line each.

The same check the schedule runs (and the same alerts on a transition). Exit status 0 when every
check ran, whatever it found; 1 when some could not (store or Telegram unreachable, the instance
busy or already being checked); 2 for a SESSION that does not exist (nothing is checked then).
Alerts the pass queued are sent before it returns (one attempt; the worker retries failures).
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.timesince import timesince

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import Health, HealthCheck
from sessions_app.services.health.delivery import alerts_deliver_due
from sessions_app.services.health.schedule import health_pass

COULD_NOT_RUN = (Health.UNREACHABLE, Health.BUSY)


def describe(check: HealthCheck) -> str:
    label = Health(check.result).label
    if check.result == Health.HEALTHY and check.connector_active_at is not None:
        ago = timesince(check.connector_active_at, timezone.now())
        return f"{label}: connector last active {ago} ago"
    return f"{label}: {check.reason}" if check.reason else label


class Command(BaseCommand):
    help = "Check the health of every instance (or the named ones) now, with the same check as the schedule."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("sessions", nargs="*", metavar="SESSION", help="SESSION names (default: every instance)")

    def handle(self, *args: Any, sessions: list[str], **options: Any) -> None:
        if sessions:
            known = set(ConnectorInstance.objects.filter(session__in=sessions).values_list("session", flat=True))
            unknown = [name for name in sessions if name not in known]
            if unknown:
                raise CommandError(f"No instance with SESSION {', '.join(unknown)}; nothing was checked.", returncode=2)
        failed = 0
        for instance, check, why_not in health_pass(sessions=sessions or None):
            if check is None:
                line, ok = f"not checked: {why_not}", False
            else:
                line, ok = describe(check), check.result not in COULD_NOT_RUN
            failed += not ok
            self.stdout.write(f"{instance.session}  {line}")
        alerts_deliver_due(limit=1000)
        if failed:
            raise CommandError(f"{failed} check(s) could not run; the schedule retries them.", returncode=1)
