"""The archive pipeline above Telethon's real iteration and the demo Telegram."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sessions_app.models import ArchiveRun, AuditEvent, Dialog, Message
from sessions_app.services.archive_runs import ArchiveRefused, archive_run_foreground, archive_run_start
from tests.conftest import ADA, log_in
from tests.support import archived_messages

PHONE = ADA.lstrip("+")


@pytest.fixture
def active(telegram, instance):
    return log_in(instance)


def test_a_first_run_archives_every_message_once(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=230)
    run = archive_run_foreground(instance=active)
    assert run.status == "done" and run.dialogs_done == run.dialogs_total > 3
    truth = telegram.history_of(PHONE)
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}
    assert run.messages_saved == sum(len(rows) for rows in truth.values())
    for dialog in Dialog.objects.filter(instance=active):
        assert dialog.history_complete
        assert dialog.message_count == len(truth.get(dialog.peer_id, []))
    assert AuditEvent.objects.filter(action="archive.run", outcome="ok").exists()


def test_a_rerun_changes_nothing_and_a_later_run_fetches_only_new_messages(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=120)
    archive_run_foreground(instance=active)
    before = archived_messages(active)
    again = archive_run_foreground(instance=active)
    assert again.messages_saved == 0 and archived_messages(active) == before
    telegram.seed_messages(PHONE, per_dialog=15)
    third = archive_run_foreground(instance=active)
    truth = telegram.history_of(PHONE)
    assert third.messages_saved == sum(len(r) for r in truth.values()) - sum(len(r) for r in before.values())
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}


def test_it_stores_the_message_details(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=60)
    archive_run_foreground(instance=active)
    messages = Message.objects.filter(instance=active)
    assert messages.filter(is_service=True).exclude(action_type="").exists()
    assert messages.exclude(media_kind="").exists()
    assert messages.exclude(reply_to_id=None).exists()
    assert messages.exclude(sender_name="").exists()
    kinds = set(Dialog.objects.filter(instance=active).values_list("kind", flat=True))
    assert {"user", "group", "channel"} <= kinds


def test_flood_waits_are_slept_and_counted_never_fatal(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=150)
    telegram.flood("messages.getHistory", 1)
    seen: list[int] = []
    run = archive_run_foreground(instance=active, listener=lambda progress: seen.append(progress.flood_wait_seconds))
    assert run.status == "done" and run.flood_waits >= 1
    assert max(seen) >= 1
    truth = telegram.history_of(PHONE)
    assert archived_messages(active) == {peer: rows for peer, rows in truth.items() if rows}


def test_takeout_waits_for_approval_then_works(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=30)
    refused = archive_run_foreground(instance=active, use_takeout=True)
    assert refused.status == "failed"
    assert "approve the data export" in refused.error and "retry in" in refused.error
    telegram.approve_takeout(PHONE)
    run = archive_run_foreground(instance=active, use_takeout=True)
    assert run.status == "done" and run.messages_saved > 0


def test_refreshing_edits_rereads_recent_messages(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=40)
    archive_run_foreground(instance=active)
    Message.objects.filter(instance=active).update(text="stale copy")
    archive_run_foreground(instance=active, refresh_edits_days=36500)
    assert not Message.objects.filter(instance=active, text="stale copy").exclude(is_service=True).exists()


def test_a_second_run_is_refused_while_one_is_active(telegram, active):
    archive_run_start(instance=active, actor=None)
    with pytest.raises(ArchiveRefused, match="already queued for this instance"):
        archive_run_start(instance=active, actor=None)
    assert ArchiveRun.objects.filter(instance=active).count() == 1


def test_a_start_for_an_instance_deleted_since_it_was_read_is_refused_not_a_server_error(telegram, active):
    from sessions_app.models import ConnectorInstance

    ConnectorInstance.objects.filter(pk=active.pk).delete()  # another person's delete, after this page loaded

    with pytest.raises(ArchiveRefused, match="deleted a moment ago"):
        archive_run_start(instance=active, actor=None)
    assert not ArchiveRun.objects.filter(instance_id=active.pk).exists()


def test_a_run_whose_process_is_gone_from_this_host_is_taken_over_at_once(telegram, active):
    import socket
    import subprocess
    import sys

    from django.utils import timezone

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    ArchiveRun.objects.create(
        instance=active,
        status="running",
        heartbeat_at=timezone.now(),  # fresh: only the dead process tells it is over
        worker_host=socket.gethostname(),
        worker_pid=dead_pid,
    )
    run = archive_run_start(instance=active, actor=None)
    assert ArchiveRun.objects.filter(instance=active, status="interrupted").count() == 1
    assert run.status == "queued"


def test_a_live_run_on_another_host_is_refused_with_the_seconds_until_takeover(telegram, active, settings):
    from django.utils import timezone

    settings.ARCHIVE_STALE_SECONDS = 90
    ArchiveRun.objects.create(
        instance=active, status="running", heartbeat_at=timezone.now(), worker_host="elsewhere", worker_pid=1
    )
    with pytest.raises(ArchiveRefused, match=r"taken over in 1 min 30 s"):
        archive_run_start(instance=active, actor=None)


def test_an_instance_without_a_session_cannot_archive(telegram, instance):
    with pytest.raises(ArchiveRefused, match="no working session"):
        archive_run_start(instance=instance, actor=None)


def test_a_terminated_dashboard_key_fails_the_run_with_a_clear_error(telegram, active):
    telegram.terminate_session(active.dashboard_session)
    run = archive_run_foreground(instance=active)
    assert run.status == "failed" and "Mint the dashboard's authorization" in run.error
    active.refresh_from_db()
    assert active.dashboard_session == "" and active.status == "active"  # the connector is not touched
    assert AuditEvent.objects.filter(action="archive.run", outcome="dead").exists()


def test_the_archive_runs_on_the_dashboard_key_not_the_connectors(telegram, active):
    telegram.seed_messages(PHONE, per_dialog=5)
    telegram.terminate_session(active.session_string)  # the connector's key dies; the dashboard's lives on
    run = archive_run_foreground(instance=active)
    assert run.status == "done" and run.messages_saved > 0


def test_an_instance_without_the_dashboard_key_cannot_archive(telegram, instance):
    from tests.conftest import demo_session

    instance.session_string = demo_session()
    instance.save()
    with pytest.raises(ArchiveRefused, match="Mint the dashboard's authorization"):
        archive_run_start(instance=instance, actor=None)
    assert not ArchiveRun.objects.exists()


def test_the_archive_command_prints_a_summary(telegram, active, capsys):
    from io import StringIO

    telegram.seed_messages(PHONE, per_dialog=20)
    out = StringIO()
    call_command("archive", active.session, stdout=out)
    assert "done" in out.getvalue() and "new messages" in out.getvalue()
    with pytest.raises(CommandError, match="No instance"):
        call_command("archive", "missing", stdout=StringIO())


def test_a_message_whose_text_holds_nul_characters_is_archived_without_them(telegram, active):
    """Telegram text may hold NUL, which PostgreSQL refuses in a text column: the run must not fail on it."""
    telegram.seed_messages(PHONE, per_dialog=5, dialogs=1)
    peer, messages = next(iter(telegram.history_of(PHONE).items()))
    with telegram.store.tx() as db:  # a sender's text, as Telegram would deliver it
        db.execute("UPDATE messages SET text = ? WHERE peer = ? AND id = ?", ("be\x00fore\x00", peer, messages[-1][0]))

    run = archive_run_foreground(instance=active)

    assert run.status == "done", run.error
    assert Message.objects.get(instance=active, peer_id=peer, message_id=messages[-1][0]).text == "before"
