"""Media on S3 (moto in-process and over HTTP): the run stores each file under its key, the view streams it back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from moto import mock_aws

from sessions_app.models_media import ArchivedMedia
from sessions_app.services.archive_media import MediaChoice
from sessions_app.services.archive_runs import archive_run_foreground
from sessions_app.storage import StoreError, get_media_storage
from sessions_app.storage.s3_media import S3MediaStorage
from tests.storage.conftest import _aws_environment, admin_client, configure_s3, moto_server  # noqa: F401 - fixtures

from .conftest import use_media_storage


@pytest.fixture(params=["moto", "moto-http"])
def bucket(request: pytest.FixtureRequest, settings: Any) -> Iterator[tuple[str, Any]]:
    """A fresh bucket that both the session store and the media store use (the default)."""
    name = f"tc-{uuid.uuid4().hex[:16]}"
    if request.param == "moto":
        with mock_aws():
            yield _configure(settings, name, "")
    else:
        yield _configure(settings, name, request.getfixturevalue("moto_server"))


def _configure(settings: Any, name: str, endpoint: str) -> tuple[str, Any]:
    client = admin_client("s3", endpoint)
    client.create_bucket(Bucket=name)
    configure_s3(settings, bucket=name, endpoint=endpoint)
    settings.AWS_S3_MEDIA_BUCKET = name
    use_media_storage(settings, S3MediaStorage)
    return name, client


def test_a_run_stores_media_in_the_bucket_under_the_session_prefix(bucket, active, viewer_client):
    name, client = bucket

    run = archive_run_foreground(instance=active, media=MediaChoice(("photo", "document"), 2_000_000))

    assert run.status == "done", run.error
    media = list(ArchivedMedia.objects.filter(instance=active))
    assert media and {m.status for m in media} == {"done"}
    for item in media:
        head = client.head_object(Bucket=name, Key=item.store_key)
        assert item.store_key.startswith("telegram/prod-bot/media/")
        assert head["ContentLength"] == item.size
        assert head["ContentType"] == item.mime
        assert head["ServerSideEncryption"] == "AES256"
    photo = next(m for m in media if m.kind == "photo")
    response = viewer_client.get(reverse("archive_media", args=["prod-bot", photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    stored = client.get_object(Bucket=name, Key=photo.store_key)["Body"].read()
    assert b"".join(response.streaming_content) == stored


def test_a_save_replaces_an_unfinished_copy_and_a_missing_bucket_is_a_sentence(bucket, settings):
    name, client = bucket
    storage = get_media_storage()
    key = "telegram/prod-bot/media/document/1-a.txt"

    storage.save(key, ContentFile(b"first"))
    assert storage.save(key, ContentFile(b"second")) == key  # same key: a resumed download overwrites
    assert client.get_object(Bucket=name, Key=key)["Body"].read() == b"second"

    settings.AWS_S3_MEDIA_BUCKET = "no-such-bucket-" + uuid.uuid4().hex[:8]
    use_media_storage(settings, S3MediaStorage)
    with pytest.raises(StoreError) as error:
        get_media_storage().save(key, ContentFile(b"x"))
    assert "does not exist" in error.value.message


def test_with_the_bucket_gone_the_run_fails_with_the_stores_sentence_and_no_file_counts_as_stored(
    bucket, settings, active
):
    settings.AWS_S3_MEDIA_BUCKET = "no-such-bucket-" + uuid.uuid4().hex[:8]
    use_media_storage(settings, S3MediaStorage)

    run = archive_run_foreground(instance=active, media=MediaChoice(("photo", "document"), 2_000_000))

    assert run.status == "failed" and "storing their media failed" in run.error and "does not exist" in run.error
    assert ArchivedMedia.objects.filter(instance=active).exists()
    assert not ArchivedMedia.objects.filter(instance=active, status="done").exists()
