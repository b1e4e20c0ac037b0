"""The media view, the dialog page's images and links, the start form's media choices and the export column."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from sessions_app.models import ArchiveRun, Message
from sessions_app.models_media import ArchivedMedia, ArchiveRunMedia
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground

from .conftest import ALL_KINDS


@pytest.fixture
def stored(active, media_dir):
    run = archive_run_foreground(instance=active, media=MediaChoice(ALL_KINDS, 2_000_000))
    assert run.status == "done", run.error
    active.refresh_from_db()
    return active


def media_url(media: ArchivedMedia) -> str:
    return reverse("archive_media", args=["prod-bot", media.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_viewer_gets_a_photo_inline_as_a_jpeg(stored, viewer_client, media_dir):
    photo = ArchivedMedia.objects.filter(kind="photo").first()

    response = viewer_client.get(media_url(photo))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "no-store" in response["Cache-Control"]
    assert body(response) == (media_dir / photo.store_key).read_bytes()


def test_an_owner_gets_a_document_as_an_attachment(stored, owner_client, media_dir):
    document = ArchivedMedia.objects.get(file_name="handbook.pdf")

    response = owner_client.get(media_url(document))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="handbook.pdf"'
    assert body(response) == (media_dir / document.store_key).read_bytes()


def test_an_outsider_gets_404_and_an_anonymous_visitor_the_sign_in_page(stored, outsider_client, client):
    photo = ArchivedMedia.objects.filter(kind="photo").first()

    assert outsider_client.get(media_url(photo)).status_code == 404
    anonymous = client.get(media_url(photo))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_a_file_of_another_instance_or_not_stored_yet_is_404(stored, viewer_client):
    pending = ArchivedMedia.objects.create(instance=stored, file_id=42, kind="photo", store_key="x", status="pending")

    assert viewer_client.get(media_url(pending)).status_code == 404
    assert viewer_client.get(reverse("archive_media", args=["other-bot", 1])).status_code == 404
    assert viewer_client.get(reverse("archive_media", args=["prod-bot", 10**9])).status_code == 404


def test_a_file_missing_from_the_store_is_404(stored, viewer_client, media_dir):
    photo = ArchivedMedia.objects.filter(kind="photo").first()
    (media_dir / photo.store_key).unlink()

    assert viewer_client.get(media_url(photo)).status_code == 404


def test_the_dialog_page_shows_images_and_file_links_and_no_session_string(stored, viewer_client):
    message = Message.objects.filter(archived_media__file_name="handbook.pdf").first()
    photo_message = Message.objects.filter(dialog=message.dialog, archived_media__kind="photo").first()

    page = viewer_client.get(reverse("archive_dialog", args=["prod-bot", message.peer_id])).content.decode()

    assert f'<img class="media-image" src="{media_url(photo_message.archived_media)}"' in page
    assert f'<a href="{media_url(message.archived_media)}" download>Download handbook.pdf</a>' in page
    assert stored.session_string not in page and stored.dashboard_session not in page


def test_the_start_form_offers_the_media_kinds_and_starts_a_run_with_them(instance, operator_client, settings):
    page = operator_client.get(reverse("archive", args=["prod-bot"])).content.decode()
    assert 'name="media_kinds" value="photo"' in page and 'name="media_max_bytes"' in page
    instance.session_string, instance.dashboard_session = "x", "y"  # a start needs both keys; the run is queued only
    instance.save()

    response = operator_client.post(
        reverse("archive", args=["prod-bot"]),
        {"refresh_edits_days": "0", "media_kinds": ["photo", "voice"], "media_max_bytes": "1000"},
    )

    assert response.status_code == 302
    plan = ArchiveRunMedia.objects.get(run=ArchiveRun.objects.get())
    assert (plan.kind_list, plan.max_bytes) == (["photo", "voice"], 1000)


def test_the_start_form_refuses_an_unknown_kind_and_a_negative_cap(instance, operator_client):
    response = operator_client.post(
        reverse("archive", args=["prod-bot"]),
        {"refresh_edits_days": "0", "media_kinds": ["sticker"], "media_max_bytes": "-1"},
    )

    assert response.status_code == 400
    assert "sticker is not one of the available choices" in response.content.decode()
    assert not ArchiveRun.objects.exists()


def test_the_export_names_each_messages_stored_media_path(stored, operator_client):
    response = operator_client.get(reverse("archive_export", args=["prod-bot"]) + "?format=csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_id = {(int(r["peer_id"]), int(r["message_id"])): r for r in rows}
    linked = Message.objects.filter(instance=stored, archived_media__status="done").select_related("archived_media")
    assert linked.exists()
    for message in linked:
        assert by_id[(message.peer_id, message.message_id)]["media_path"] == message.archived_media.store_key
    text_only = Message.objects.filter(instance=stored, media_kind="").first()
    assert by_id[(text_only.peer_id, text_only.message_id)]["media_path"] == ""


def test_the_live_block_counts_media_files_and_bytes():
    from sessions_app.selectors.archive import ArchiveProgress
    from sessions_app.views.archive import archive_live_html

    progress = ArchiveProgress(
        run_id=7,
        status="running",
        messages_saved=10,
        dialogs_done=4,
        dialogs_total=4,
        rate=2.0,
        flood_wait_until=None,
        dialog=None,
        media_files_done=3,
        media_files_total=9,
        media_bytes=2048,
    )

    html = archive_live_html(progress=progress)

    assert '<span data-field="media_files_done">3</span> of <span data-field="media_files_total">9</span>' in html
    assert "2.0\xa0KB" in html
    assert "Media files" not in archive_live_html(
        progress=ArchiveProgress(**{**progress.__dict__, "media_files_total": 0})
    )


def test_the_start_form_refuses_a_cap_too_big_for_the_database(instance, operator_client):
    instance.session_string, instance.dashboard_session = "x", "y"
    instance.save()

    response = operator_client.post(
        reverse("archive", args=["prod-bot"]),
        {"refresh_edits_days": "0", "media_kinds": ["photo"], "media_max_bytes": str(2**63)},
    )

    assert response.status_code == 400
    assert "less than or equal to 9223372036854775807" in response.content.decode()
    assert not ArchiveRun.objects.exists()
