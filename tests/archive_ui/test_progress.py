"""ArchiveProgress: one description of a run for the live block, the websocket and `manage.py archive`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from sessions_app.management.commands.archive import progress_line
from sessions_app.models import ArchiveRun, ArchiveStatus
from sessions_app.selectors.archive import ArchiveProgress, DialogProgress, archive_progress
from sessions_app.telegram.errors import seconds_left
from tests.archive_ui.conftest import make_dialog
from tests.conftest import ADA, log_in

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("until", "left"),
    [(None, 0), (NOW + timedelta(seconds=4.2), 5), (NOW + timedelta(seconds=5), 5), (NOW + timedelta(seconds=0.01), 1),
     (NOW, 0), (NOW - timedelta(seconds=3), 0)],
)  # fmt: skip
def test_seconds_left_of_a_wait_rounds_up_and_never_goes_below_zero(until, left):
    assert seconds_left(until, NOW) == left


def test_it_travels_through_the_channel_layer_as_plain_json_and_comes_back_equal():
    progress = ArchiveProgress(
        run_id=3, status=ArchiveStatus.FLOOD_WAIT, messages_saved=250, dialogs_done=1, dialogs_total=4, rate=41.5,
        flood_wait_until=timezone.now() + timedelta(seconds=30),
        dialog=DialogProgress(peer_id=-100555, title="News", archived=250, total=None, complete=False),
    )  # fmt: skip
    assert ArchiveProgress.from_event(json.loads(json.dumps(progress.as_event()))) == progress
    assert 29 <= progress.flood_wait_seconds <= 30 and progress.status_label == "waiting for Telegram"
    assert progress.is_active


def test_from_the_database_it_shows_the_current_dialog_and_the_wait(instance):
    dialog = make_dialog(instance, 7, "Big channel", total_on_server=900, message_count=300, history_complete=True)
    started = timezone.now() - timedelta(seconds=100)
    run = ArchiveRun.objects.create(
        instance=instance, status=ArchiveStatus.FLOOD_WAIT, started_at=started, current_dialog=dialog,
        heartbeat_at=started + timedelta(seconds=50), messages_saved=1000, dialogs_total=5, dialogs_done=2,
        flood_wait_until=timezone.now() + timedelta(seconds=12),
    )  # fmt: skip
    progress = archive_progress(run)
    assert progress.dialog == DialogProgress(peer_id=7, title="Big channel", archived=300, total=900, complete=True)
    assert progress.rate == 20.0  # up to the last heartbeat, when messages_saved was written
    assert 11 <= progress.flood_wait_seconds <= 12


def test_a_run_that_is_no_longer_waiting_shows_no_wait(instance):
    run = ArchiveRun.objects.create(
        instance=instance, status=ArchiveStatus.FAILED, flood_wait_until=timezone.now() + timedelta(seconds=60)
    )
    progress = archive_progress(run)
    assert progress.flood_wait_until is None and progress.flood_wait_seconds == 0 and not progress.is_active


def test_the_command_line_shows_a_bar_the_counts_the_dialog_and_the_wait_rounded_up():
    progress = ArchiveProgress(
        run_id=3, status=ArchiveStatus.FLOOD_WAIT, messages_saved=250, dialogs_done=1, dialogs_total=3, rate=41.5,
        flood_wait_until=timezone.now() + timedelta(seconds=4.2),
        dialog=DialogProgress(peer_id=-100555, title="News", archived=250, total=None, complete=False),
    )  # fmt: skip
    assert progress_line(progress) == (
        f"[{'#' * 10}{'.' * 20}] 1/3 dialogs, 250 messages, 41.5 msg/s, News, Telegram asked to wait 5 s"
    )


def test_the_archive_command_prints_a_progress_line_per_update_then_the_summary(telegram, instance):
    log_in(instance)
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=30)
    out = StringIO()
    call_command("archive", instance.session, stdout=out)
    *lines, summary = out.getvalue().splitlines()
    run = ArchiveRun.objects.get(instance=instance)
    assert lines and lines[-1].startswith(f"[{'#' * 30}] {run.dialogs_done}/{run.dialogs_total} dialogs, ")
    assert f"{run.messages_saved} messages" in lines[-1]
    assert summary.startswith(f"prod-bot: run {run.pk} done: {run.messages_saved} new messages")
