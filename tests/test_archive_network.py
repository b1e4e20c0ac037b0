"""An archive run survives the network: a dropped connection reconnects and carries on from the checkpoints.

The demo Telegram drops the dashboard key's connection under its N-th request and keeps the network
down until its clock passes the outage; the tests move that clock when the run says it is
reconnecting, so no test waits for a real outage.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from sessions_app.models import Message, TelegramLease
from sessions_app.models_media import ArchiveRunMedia
from sessions_app.selectors.archive import ArchiveProgress as RunProgress
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.telegram.errors import TakeoutInitDelay
from tests.archive_media.conftest import CountingStorage, use_media_storage
from tests.conftest import ADA, log_in
from tests.support import archived_messages

PHONE = ADA.lstrip("+")
OUTAGE = 3600.0
# Far enough in to land mid-history: connecting, the dialogs, then a few chunks of history.
DROP_AFTER = 15


@pytest.fixture
def active(telegram, instance):
    return log_in(instance)


def _truth(telegram) -> dict[int, list[tuple[int, str]]]:
    return {peer: rows for peer, rows in telegram.history_of(PHONE).items() if rows}


class NetworkComesBack:
    """A run's listener: notes each "reconnecting in N s" and ends the outage at the first one."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.reconnecting: list[int] = []
        self.saved_at_drop: int | None = None

    def __call__(self, progress: RunProgress) -> None:
        if progress.reconnecting_in:
            if self.saved_at_drop is None:
                self.saved_at_drop = progress.messages_saved
                self.clock.advance(OUTAGE + 1)
            self.reconnecting.append(progress.reconnecting_in)


def test_a_run_whose_connection_drops_reconnects_by_itself_and_archives_every_message_once(telegram, clock, active):
    telegram.seed_messages(PHONE, per_dialog=300)
    telegram.drop_connections(active.dashboard_session, after_requests=DROP_AFTER, down_seconds=OUTAGE)
    watcher = NetworkComesBack(clock)

    run = archive_run_foreground(instance=active, listener=watcher)

    assert run.status == "done", run.error
    assert watcher.reconnecting and min(watcher.reconnecting) >= 1  # "reconnecting in N s" was shown
    truth = _truth(telegram)
    total = sum(len(rows) for rows in truth.values())
    assert watcher.saved_at_drop is not None and 0 < watcher.saved_at_drop < total  # the drop landed mid-run
    assert archived_messages(active) == truth  # no gap
    assert Message.objects.filter(instance=active).count() == run.messages_saved == total  # no duplicate


def test_a_connection_down_past_the_setting_ends_the_run_and_the_next_run_resumes(settings, telegram, clock, active):
    settings.ARCHIVE_RECONNECT_SECONDS = 1
    telegram.seed_messages(PHONE, per_dialog=300)
    telegram.drop_connections(active.dashboard_session, after_requests=DROP_AFTER, down_seconds=OUTAGE)
    seen: list[int] = []

    first = archive_run_foreground(instance=active, listener=lambda progress: seen.append(progress.reconnecting_in))

    assert first.status == "failed"
    assert "did not come back within 1 s" in first.error and "resumes where it stopped" in first.error
    assert max(seen) >= 1  # it did try before giving up
    truth = _truth(telegram)
    total = sum(len(rows) for rows in truth.values())
    assert 0 < first.messages_saved < total
    clock.advance(OUTAGE + 1)  # the network is back

    second = archive_run_foreground(instance=active)

    assert second.status == "done", second.error
    assert archived_messages(active) == truth
    assert first.messages_saved + second.messages_saved == Message.objects.filter(instance=active).count() == total


def test_a_takeout_run_keeps_its_one_takeout_across_a_reconnect(telegram, clock, active):
    telegram.seed_messages(PHONE, per_dialog=300)
    telegram.approve_takeout(PHONE)
    before = telegram.takeout_inits(PHONE)
    telegram.drop_connections(active.dashboard_session, after_requests=DROP_AFTER, down_seconds=OUTAGE)
    watcher = NetworkComesBack(clock)

    run = archive_run_foreground(instance=active, use_takeout=True, listener=watcher)

    assert run.status == "done", run.error
    assert watcher.reconnecting
    assert telegram.takeout_inits(PHONE) == before + 1  # the owner's devices were notified once
    assert telegram.takeout_requests(PHONE).get("messages.getHistory", 0) > 0
    assert archived_messages(active) == _truth(telegram)


def test_takeout_init_delay_ends_the_run_with_the_sentence_and_a_run_after_approval_succeeds(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=40)
    before = telegram.takeout_inits(PHONE)

    refused = archive_run_foreground(instance=active, use_takeout=True)

    assert refused.status == "failed"
    assert refused.error.startswith(TakeoutInitDelay(60).message.split(", then")[0])
    assert "approve the data export in the Telegram app" in refused.error and "retry in" in refused.error
    assert telegram.takeout_inits(PHONE) == before + 1  # asked once: not retried as if the network failed
    telegram.approve_takeout(PHONE)

    run = archive_run_foreground(instance=active, use_takeout=True)

    assert run.status == "done", run.error
    assert telegram.takeout_inits(PHONE) == before + 2
    assert archived_messages(active) == _truth(telegram)


def test_downloads_in_a_takeout_run_go_through_the_takeout(settings, telegram, active):
    CountingStorage.saved = []
    use_media_storage(settings, CountingStorage)
    telegram.approve_takeout(PHONE)

    run = archive_run_foreground(
        instance=active, use_takeout=True, media=MediaChoice(("photo", "document", "voice", "video"), 2_000_000)
    )

    assert run.status == "done", run.error
    plan = ArchiveRunMedia.objects.get(run=run)
    assert plan.files_done > 0 and plan.files_done == len(CountingStorage.saved)
    assert telegram.takeout_requests(PHONE).get("upload.getFile", 0) >= plan.files_done
    assert telegram.takeout_inits(PHONE) == 1


def test_a_drop_during_the_media_phase_reconnects_and_every_file_is_stored(settings, telegram, clock, active):
    CountingStorage.saved = []
    use_media_storage(settings, CountingStorage)
    choice = MediaChoice(("photo", "document", "voice", "video"), 2_000_000)
    archive_run_foreground(instance=active)  # the messages first: the next run's requests are mostly files
    telegram.drop_connections(active.dashboard_session, after_requests=12, down_seconds=OUTAGE)
    watcher = NetworkComesBack(clock)

    run = archive_run_foreground(instance=active, media=choice, listener=watcher)

    assert run.status == "done", run.error
    assert watcher.reconnecting
    plan = ArchiveRunMedia.objects.get(run=run)
    assert plan.files_failed == 0 and plan.files_done == plan.files_total == len(CountingStorage.saved) > 0


def test_a_takeout_run_keeps_its_one_takeout_across_a_handover(telegram, active, caplog):
    caplog.set_level("INFO", logger="sessions_app.services.archive")
    telegram.seed_messages(PHONE, per_dialog=1500)  # more than one batch: the run looks between two
    telegram.approve_takeout(PHONE)
    before = telegram.takeout_inits(PHONE)
    asked: list[int] = []

    def someone_waits(progress: RunProgress) -> None:
        if progress.messages_saved and not asked:  # an interactive action asks for the connection
            asked.append(TelegramLease.objects.filter(session=active.session).update(wanted_at=timezone.now()))

    run = archive_run_foreground(instance=active, use_takeout=True, listener=someone_waits)

    assert run.status == "done", run.error
    assert asked == [1] and "handed its connection over" in caplog.text
    assert telegram.takeout_inits(PHONE) == before + 1
    assert archived_messages(active) == _truth(telegram)


def test_the_live_block_the_socket_and_the_command_say_reconnecting():
    from sessions_app.management.commands.archive import progress_line
    from sessions_app.views.archive import archive_live_html

    progress = RunProgress(
        run_id=1,
        status="running",
        messages_saved=10,
        dialogs_done=1,
        dialogs_total=3,
        rate=5.0,
        flood_wait_until=None,
        dialog=None,
        reconnecting_in=8,
    )
    again = RunProgress.from_event(progress.as_event())  # what the websocket carries
    assert again.reconnecting_in == 8
    html = archive_live_html(progress=again)
    assert "reconnecting in" in html and 'data-field="reconnecting_in">8<' in html
    assert "reconnecting in 8 s" in progress_line(progress)
    assert "reconnecting" not in archive_live_html(
        progress=RunProgress.from_event({**progress.as_event(), "reconnecting_in": 0})
    )
