"""`manage.py archive SESSION`: one archive run in the foreground, with a progress bar and a summary."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ArchiveStatus, ConnectorInstance
from sessions_app.services.archive import ArchiveRefused, archive_run_foreground


class Command(BaseCommand):
    help = "Archive one instance's messages now (incremental; resumes an interrupted run)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("session", help="the instance's SESSION namespace")
        parser.add_argument(
            "--takeout", action="store_true", help="use a takeout session (Telegram asks for approval first)"
        )
        parser.add_argument(
            "--refresh-edits-days", type=int, default=0, metavar="N", help="re-read the last N days to pick up edits"
        )

    def handle(self, *args, **options) -> None:
        instance = ConnectorInstance.objects.filter(session=options["session"]).first()
        if instance is None:
            raise CommandError(f"No instance with SESSION {options['session']!r}.")
        started = time.monotonic()
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else sys.stdout.isatty()

        def show(data: dict[str, object]) -> None:
            dialog = data.get("dialog") or {}
            done, total = data["dialogs_done"], data["dialogs_total"] or 0
            width = 30
            filled = int(width * done / total) if total else 0
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} dialogs, {data['messages_saved']} messages, "
                f"{data['rate']} msg/s"
            )
            if dialog:
                line += f", {dialog.get('title', '')}"
            if data.get("flood_wait_seconds"):
                line += f", Telegram asked to wait {data['flood_wait_seconds']} s"
            self.stdout.write(
                ("\r" + line[:150].ljust(150)) if interactive else line, ending="" if interactive else "\n"
            )

        try:
            run = archive_run_foreground(
                instance=instance,
                use_takeout=options["takeout"],
                refresh_edits_days=options["refresh_edits_days"],
                listener=show,
            )
        except ArchiveRefused as refused:
            raise CommandError(refused.message) from None
        if interactive:
            self.stdout.write("")
        elapsed = time.monotonic() - started
        summary = (
            f"{instance.session}: run {run.pk} {run.get_status_display()}: {run.messages_saved} new messages "
            f"from {run.dialogs_done}/{run.dialogs_total} dialogs in {elapsed:.1f} s, {run.flood_waits} flood waits"
        )
        if run.status != ArchiveStatus.DONE:
            raise CommandError(f"{summary}. {run.error}")
        self.stdout.write(summary)
