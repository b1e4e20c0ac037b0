"""Archive pages never show more done than there is: per-dialog counts and a resumed run's dialogs."""

from __future__ import annotations

from sessions_app.models import ArchiveRun, ArchiveStatus, Dialog
from sessions_app.selectors.archive import archive_progress
from sessions_app.services.archive import archive_run_execute
from tests.archive_ui.conftest import make_dialog
from tests.conftest import ADA, client_for, log_in


def test_a_count_telegram_lowered_below_the_archive_is_shown_as_the_archive(instance, viewer):
    """Old rows (or messages deleted on Telegram since): 15 archived, Telegram last said 10."""
    make_dialog(instance, 7, "Big channel", message_count=15, total_on_server=10)
    page = client_for(viewer).get("/instances/prod-bot/archive/").content.decode()
    assert '<progress max="15" value="15"></progress>' in page and "15 of 15" in page and "of 10" not in page
    dialog_page = client_for(viewer).get("/instances/prod-bot/archive/7/").content.decode()
    assert "15 messages archived of 15" in dialog_page
    run = ArchiveRun.objects.create(
        instance=instance, status=ArchiveStatus.RUNNING, current_dialog=Dialog.objects.get()
    )
    progress = archive_progress(run)
    assert progress.dialog is not None and (progress.dialog.archived, progress.dialog.total) == (15, 15)


def test_a_resumed_run_counts_each_dialog_once(telegram, instance):
    """The run died after 3 dialogs; the next one walks all of them again and must not end at "7 of 4"."""
    active = log_in(instance)
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=5)
    run = ArchiveRun.objects.create(instance=active, status=ArchiveStatus.INTERRUPTED, dialogs_done=3, dialogs_total=4)
    run = archive_run_execute(run_id=run.pk)
    assert run.status == ArchiveStatus.DONE
    assert run.dialogs_total > 0 and run.dialogs_done == run.dialogs_total
    run.refresh_from_db()
    assert run.dialogs_done == run.dialogs_total
