"""`manage.py archive SESSION`: one archive run in the foreground, with a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ArchiveStatus, ConnectorInstance
from sessions_app.models_media import MediaKind
from sessions_app.selectors.archive import ArchiveProgress, dialogs_skipped_of, skipped_sentence
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.errors import ActionRefused

BAR_WIDTH = 30
LINE_WIDTH = 150


def progress_line(progress: ArchiveProgress) -> str:
    """One line of the progress display: a bar over the dialogs, counts, rate, current dialog, wait."""
    done, total = progress.dialogs_done, progress.dialogs_total
    filled = BAR_WIDTH * done // total if total else 0
    line = (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} dialogs, "
        f"{progress.messages_saved} messages, {progress.rate} msg/s"
    )
    if progress.dialog is not None:
        line += f", {progress.dialog.title}"
    if progress.media_files_total:
        line += f", media {progress.media_files_done}/{progress.media_files_total} ({progress.media_bytes:,} B)"
    if progress.dialogs_skipped:
        line += f", {skipped_sentence(progress.dialogs_skipped)}"
    if progress.flood_wait_seconds:
        line += f", Telegram asked to wait {progress.flood_wait_seconds} s"
    if progress.reconnecting_in:
        line += f", connection dropped: reconnecting in {progress.reconnecting_in} s"
    return line[:LINE_WIDTH]


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
        parser.add_argument(
            "--media",
            action="append",
            default=[],
            choices=MediaKind.values,
            help="also download this kind of media (repeat for several)",
        )
        parser.add_argument(
            "--media-max-bytes",
            type=int,
            default=None,
            metavar="BYTES",
            help="skip bigger files (ARCHIVE_MEDIA_MAX_BYTES)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        instance = ConnectorInstance.objects.filter(session=options["session"]).first()
        if instance is None:
            raise CommandError(f"No instance with SESSION {options['session']!r}.")
        started = time.monotonic()
        interactive = self.stdout.isatty() if hasattr(self.stdout, "isatty") else sys.stdout.isatty()

        def show(progress: ArchiveProgress) -> None:
            if interactive:  # one line, redrawn in place
                self.stdout.write("\r" + progress_line(progress).ljust(LINE_WIDTH), ending="")
            else:
                self.stdout.write(progress_line(progress))

        try:
            run = archive_run_foreground(
                instance=instance,
                use_takeout=options["takeout"],
                refresh_edits_days=options["refresh_edits_days"],
                media=MediaChoice(tuple(options["media"]), options["media_max_bytes"]),
                listener=show,
            )
        except ActionRefused as refused:
            raise CommandError(refused.message) from None
        if interactive:
            self.stdout.write("")
        elapsed = time.monotonic() - started
        summary = (
            f"{instance.session}: run {run.pk} {run.get_status_display()}: {run.messages_saved} new messages "
            f"from {run.dialogs_done}/{run.dialogs_total} dialogs in {elapsed:.1f} s, {run.flood_waits} flood waits"
        )
        if run.dialogs_skipped:
            summary += f", {skipped_sentence(run.dialogs_skipped)}"
        if run.status != ArchiveStatus.DONE:
            raise CommandError(f"{summary}. {run.error}")
        self.stdout.write(summary)
        for dialog in dialogs_skipped_of(instance=instance) if run.dialogs_skipped else []:
            self.stdout.write(f"  skipped {dialog.title} ({dialog.peer_id}): {dialog.skip_reason}")
