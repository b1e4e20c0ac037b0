"""The media view with files whose name and type come from a hostile sender: what reaches the headers."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from sessions_app.models import ConnectorInstance
from sessions_app.models_media import ArchivedMedia
from sessions_app.storage import get_media_storage, media_key
from sessions_app.telegram.text import storable

pytestmark = pytest.mark.django_db
HTML = b"<html><script>alert(document.cookie)</script></html>"


def stored_file(instance: ConnectorInstance, *, file_id: int, kind: str, mime: str, file_name: str) -> ArchivedMedia:
    """A stored file with the name and type as the boundary keeps them from a message (storable)."""
    mime, file_name = storable(mime, 120), storable(file_name, 300)
    key = media_key(session=instance.session, kind=kind, file_id=file_id, file_name=file_name, mime=mime)
    get_media_storage().save(key, ContentFile(HTML))
    return ArchivedMedia.objects.create(
        instance=instance,
        file_id=file_id,
        kind=kind,
        mime=mime,
        file_name=file_name,
        store_key=key,
        status="done",
        size=len(HTML),
    )


def fetch(client, media: ArchivedMedia):
    return client.get(reverse("archive_media", args=[media.instance.session, media.pk]))


@pytest.mark.parametrize(
    ("mime", "file_name"),
    [("text/html", "page.html"), ("image/svg+xml", "logo.svg"), ("application/xhtml+xml", "x.xhtml")],
)
def test_an_html_or_svg_file_is_only_ever_an_attachment(instance, viewer_client, media_dir, mime, file_name):
    media = stored_file(instance, file_id=7, kind="document", mime=mime, file_name=file_name)

    response = fetch(viewer_client, media)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_every_file_is_served_with_a_policy_that_runs_no_script(instance, viewer_client, media_dir):
    media = stored_file(instance, file_id=8, kind="photo", mime="image/jpeg", file_name="")

    response = fetch(viewer_client, media)

    assert response.status_code == 200 and response["Content-Disposition"].startswith("inline")
    policy = response["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy


@pytest.mark.parametrize(
    "mime",
    [
        "text/html\r\nSet-Cookie: sessionid=stolen",
        "text/html\nRefresh: 0; url=https://evil.example/",
        "image/jpeg\x00\x01",
        "text/html; charset=utf-7",
        "not a type",
    ],
)
def test_a_type_that_is_not_a_bare_mime_type_is_served_as_plain_bytes(instance, viewer_client, media_dir, mime):
    media = stored_file(instance, file_id=9, kind="document", mime=mime, file_name="evil.html")

    response = fetch(viewer_client, media)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="evil.html"'
    assert "Set-Cookie" not in response and "Refresh" not in response


@pytest.mark.parametrize(
    ("file_name", "served"),
    [
        ("../../session.txt", "session.txt"),
        ("..\\..\\..\\etc\\passwd", "etc_passwd"),
        ("a\x00b\x01c.pdf", "ab_c.pdf"),
        ('"quoted"; filename=evil.exe', "quoted_filename_evil.exe"),
        ("отчёт.pdf", "pdf"),
        ("x" * 290 + ".pdf", "x" * 76 + ".pdf"),
    ],
)
def test_a_hostile_file_name_stays_under_the_instances_media_prefix_and_out_of_the_header(
    instance, viewer_client, media_dir, file_name, served
):
    media = stored_file(instance, file_id=10, kind="document", mime="application/pdf", file_name=file_name)

    assert media.store_key == f"telegram/prod-bot/media/document/10-{served}"
    response = fetch(viewer_client, media)
    assert response["Content-Disposition"] == f'attachment; filename="{served}"'
    assert not (media_dir / "telegram" / "prod-bot" / "session.txt").exists()


@pytest.mark.parametrize(
    ("value", "limit", "kept"),
    [("a\x00b", None, "ab"), ("x" * 500, 300, "x" * 300), (None, 10, ""), ("ok", 120, "ok")],
)
def test_a_string_from_telegram_is_kept_without_nul_and_within_its_column(value, limit, kept):
    assert storable(value, limit) == kept


def test_an_image_may_be_styled_by_the_browsers_own_viewer_and_nothing_else_gets_inline_style(
    instance, viewer_client, media_dir
):
    # Chromium shows an image opened on its own in a page it styles inline: under a policy without
    # style-src it logs a CSP violation for each open.
    image = stored_file(instance, file_id=10, kind="photo", mime="image/png", file_name="")
    document = stored_file(instance, file_id=11, kind="document", mime="application/pdf", file_name="a.pdf")

    image_policy = fetch(viewer_client, image)["Content-Security-Policy"]
    document_policy = fetch(viewer_client, document)["Content-Security-Policy"]

    assert "style-src 'unsafe-inline'" in image_policy and "script" not in image_policy
    assert "sandbox" in image_policy and "default-src 'none'" in image_policy
    assert "style-src" not in document_policy
