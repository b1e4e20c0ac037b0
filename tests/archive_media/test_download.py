"""The media phase of an archive run: dedupe by file id, kinds, size cap, resume, flood waits."""

from __future__ import annotations

import logging
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from sessions_app.models import ArchiveRun, Message
from sessions_app.models_media import ArchivedMedia, ArchiveRunMedia
from sessions_app.selectors.archive import ArchiveProgress
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.services.errors import InstanceBusy
from sessions_app.services.lease import lease_acquire

from .conftest import ALL_KINDS, CountingStorage, FailingStorage, use_media_storage


def run_with_media(instance, kinds=ALL_KINDS, max_bytes=None, listener=None) -> ArchiveRun:
    return archive_run_foreground(instance=instance, media=MediaChoice(tuple(kinds), max_bytes), listener=listener)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "telegram").rglob("*") if p.is_file() and "/media/" in p.as_posix())


def test_a_run_stores_each_file_once_and_every_message_points_to_it(active, media_dir):
    run = run_with_media(active, max_bytes=2_000_000)

    assert run.status == "done", run.error
    media = ArchivedMedia.objects.filter(instance=active)
    assert media.count() == len(set(media.values_list("file_id", flat=True))) == len(CountingStorage.saved)
    assert set(media.values_list("status", flat=True)) == {"done"}
    handbook = media.get(file_name="handbook.pdf")  # the same file in every chat of the account
    assert handbook.messages.count() > 1
    assert CountingStorage.saved.count(handbook.store_key) == 1
    for item in media:
        path = media_dir / item.store_key
        assert path.stat().st_size == item.size
        assert path.stat().st_mode & 0o777 == 0o600
    assert len(stored_files(media_dir)) == media.count()  # no temp file left behind
    linked = Message.objects.filter(instance=active, archived_media__isnull=False)
    assert linked.count() > media.count()
    assert all(m.media_size == m.archived_media.size for m in linked.select_related("archived_media"))
    plan = ArchiveRunMedia.objects.get(run=run)
    assert plan.files_done == plan.files_total == media.count()
    assert plan.bytes_done == sum(media.values_list("size", flat=True))


def test_photos_are_stored_as_whole_jpeg_files_under_the_documented_keys(active, media_dir):
    run_with_media(active, kinds=["photo"])

    photos = ArchivedMedia.objects.filter(instance=active)
    assert photos and set(photos.values_list("kind", flat=True)) == {"photo"}
    for photo in photos:
        assert photo.store_key == f"telegram/prod-bot/media/photo/{photo.file_id}-photo.jpg"
        data = (media_dir / photo.store_key).read_bytes()
        assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"


def test_a_run_downloads_only_the_kinds_it_was_given(active, media_dir):
    run_with_media(active, kinds=["voice", "video"])

    kinds = set(ArchivedMedia.objects.filter(instance=active).values_list("kind", flat=True))
    assert kinds == {"voice", "video"}
    assert not Message.objects.filter(instance=active, media_kind="photo", archived_media__isnull=False).exists()


def test_a_run_without_media_kinds_downloads_nothing(active, media_dir):
    run = archive_run_foreground(instance=active)

    assert run.status == "done"
    assert not ArchivedMedia.objects.exists() and not ArchiveRunMedia.objects.exists()
    assert CountingStorage.saved == []


def test_files_above_the_size_cap_are_skipped_and_counted(active, media_dir, settings):
    settings.ARCHIVE_MEDIA_MAX_BYTES = 5_000
    run = run_with_media(active)

    plan = ArchiveRunMedia.objects.get(run=run)
    assert plan.max_bytes == 5_000
    assert plan.files_too_big > 0
    assert max(ArchivedMedia.objects.values_list("size", flat=True)) <= 5_000
    too_big = Message.objects.filter(instance=active, media_size__gt=5_000).exclude(media_kind="")
    assert too_big.exists() and not too_big.filter(archived_media__isnull=False).exists()


def test_a_later_run_downloads_nothing_already_stored(active, media_dir):
    run_with_media(active)
    first = len(CountingStorage.saved)

    again = run_with_media(active)

    assert again.status == "done"
    assert len(CountingStorage.saved) == first
    assert ArchiveRunMedia.objects.get(run=again).files_total == 0


def test_a_run_stopped_mid_media_resumes_without_downloading_again(active, settings, media_dir):
    FailingStorage.saved, FailingStorage.fail_after = [], 3
    use_media_storage(settings, FailingStorage)

    failed = run_with_media(active)

    assert failed.status == "failed"
    assert "storing their media failed" in failed.error and "simulated" in failed.error
    assert ArchivedMedia.objects.filter(status="done").count() == 3
    unfinished = ArchivedMedia.objects.exclude(status="done")
    assert unfinished.exists()
    assert not any((media_dir / m.store_key).exists() for m in unfinished)  # nothing half-written is visible

    CountingStorage.saved = []
    use_media_storage(settings, CountingStorage)
    resumed = run_with_media(active)

    assert resumed.status == "done", resumed.error
    assert not set(CountingStorage.saved) & set(FailingStorage.saved)
    assert set(ArchivedMedia.objects.values_list("status", flat=True)) == {"done"}
    assert len(CountingStorage.saved) + 3 == ArchivedMedia.objects.count()


def test_flood_waits_during_downloads_are_slept_and_shown(telegram, active, media_dir):
    telegram.set_rate_limit("upload.getFile", 25, 1)
    seen: list[ArchiveProgress] = []

    run = run_with_media(active, kinds=["photo"], listener=seen.append)

    assert run.status == "done", run.error
    assert run.flood_waits > 0
    assert any(p.status == "flood_wait" and p.media_files_total for p in seen)
    assert set(ArchivedMedia.objects.values_list("status", flat=True)) == {"done"}
    last = seen[-1]
    assert last.media_files_done == last.media_files_total == ArchivedMedia.objects.count()
    assert last.media_bytes == sum(ArchivedMedia.objects.values_list("size", flat=True))


def test_files_download_although_the_references_read_with_the_messages_expired(telegram, active, media_dir):
    telegram.expire_file_references()  # the media phase reads each message again for a fresh reference

    run = run_with_media(active, kinds=["photo"])

    assert run.status == "done"
    assert set(ArchivedMedia.objects.values_list("status", flat=True)) == {"done"}


def test_progress_events_carry_the_media_counters():
    progress = ArchiveProgress(
        run_id=1,
        status="running",
        messages_saved=5,
        dialogs_done=1,
        dialogs_total=2,
        rate=1.0,
        flood_wait_until=None,
        dialog=None,
        media_files_done=3,
        media_files_total=4,
        media_bytes=12345,
    )
    assert ArchiveProgress.from_event(progress.as_event()) == progress


def test_a_file_reference_that_expires_mid_run_is_refreshed_by_reading_the_message_again(telegram, active, media_dir):
    telegram.set_rate_limit("upload.getFile", 1, 1)
    expired: list[int] = []

    def expire_on_the_first_flood(progress: ArchiveProgress) -> None:
        if progress.status == "flood_wait" and not expired:
            telegram.expire_file_references()  # the reference of the file in flight is now stale
            expired.append(progress.run_id)

    run = run_with_media(active, kinds=["voice"], listener=expire_on_the_first_flood)

    assert expired and run.status == "done", run.error
    assert set(ArchivedMedia.objects.values_list("status", flat=True)) == {"done"}


def test_the_archive_command_downloads_the_kinds_it_is_given(active, media_dir):
    out = StringIO()

    call_command("archive", "prod-bot", "--media", "photo", "--media-max-bytes", "100000", stdout=out)

    assert set(ArchivedMedia.objects.values_list("kind", flat=True)) == {"photo"}
    assert max(ArchivedMedia.objects.values_list("size", flat=True)) <= 100_000
    assert "media " in out.getvalue()


def test_a_run_hands_its_connection_over_between_two_files_when_an_action_asks(telegram, active, media_dir, caplog):
    telegram.set_rate_limit("upload.getFile", 2, 1)  # a flood wait keeps the phase going past a heartbeat
    asked: list[bool] = []

    def ask_for_the_connection(progress: ArchiveProgress) -> None:
        if progress.media_files_total and not asked:
            with pytest.raises(InstanceBusy):  # what an action waiting for the lease does meanwhile
                lease_acquire(session="prod-bot", holder="verify", purpose="session.verify", wait=0)
            asked.append(True)

    with caplog.at_level(logging.INFO, logger="sessions_app.services.archive_media"):
        run = run_with_media(active, kinds=["voice", "video"], listener=ask_for_the_connection)

    assert asked and run.status == "done", run.error
    assert "handed its connection over between two media files" in caplog.text
    assert set(ArchivedMedia.objects.values_list("status", flat=True)) == {"done"}
