"""session_key and get_session_storage: the key layout and which store the settings select."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from sessions_app.models import session_object_storage
from sessions_app.storage import LocalSessionStore, S3SessionStore, SessionStore, get_session_storage, session_key

from .conftest import configure_s3


@pytest.mark.parametrize("session", ["teleapp", "production-bot", "A_b-9", "x" * 64, "-", "_"])
def test_session_key_is_the_connectors_layout(session: str) -> None:
    assert session_key(session) == f"telegram/{session}/session.txt"


@pytest.mark.parametrize("bad", ["", "a/b", "..", ".hidden", "a b", "x" * 65, "abc\n", "sessión", "a.b", None, 7])
def test_session_key_rejects_names_outside_the_pattern(bad: Any) -> None:
    with pytest.raises(ValueError, match="Invalid SESSION name"):
        session_key(bad)


def test_without_a_bucket_it_is_the_local_directory(settings: Any, tmp_path: Path) -> None:
    settings.AWS_S3_SESSION_BUCKET = ""
    settings.SESSION_STORE_DIR = str(tmp_path / "store")

    store = get_session_storage()

    assert isinstance(store, LocalSessionStore)
    assert isinstance(store, FileSystemStorage)
    assert isinstance(store, SessionStore)
    assert store.location == str(tmp_path / "store")


def test_with_a_bucket_it_is_s3_configured_from_settings(settings: Any) -> None:
    configure_s3(settings, bucket="tc-config", endpoint="http://127.0.0.1:9000", access_key="AKIAX", secret_key="sec")

    store = get_session_storage()

    assert isinstance(store, S3SessionStore)
    assert isinstance(store, S3Storage)
    assert store.location == "s3://tc-config"
    assert (store.bucket_name, store.endpoint_url, store.region_name) == (
        "tc-config",
        "http://127.0.0.1:9000",
        "us-east-1",
    )
    assert (store.access_key, store.secret_key, store.security_token) == ("AKIAX", "sec", None)
    assert store.default_acl is None
    assert store.file_overwrite is False
    assert store.object_parameters == {"CacheControl": "no-store", "ServerSideEncryption": "AES256"}
    assert store.client_config.s3 == {"addressing_style": "path"}


def test_empty_settings_fall_back_to_the_aws_defaults(settings: Any) -> None:
    configure_s3(settings, bucket="tc-config", access_key="", secret_key="")

    store = get_session_storage()

    assert store.endpoint_url is None  # type: ignore[attr-defined]
    assert store.access_key is None and store.secret_key is None  # type: ignore[attr-defined]


def test_kms_settings_become_object_parameters(settings: Any) -> None:
    configure_s3(settings, bucket="tc-config", sse="aws:kms", kms_key_id="alias/sessions")

    assert get_session_storage().object_parameters == {  # type: ignore[attr-defined]
        "CacheControl": "no-store",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": "alias/sessions",
    }


def test_it_reuses_the_store_until_the_settings_change(settings: Any) -> None:
    configure_s3(settings, bucket="tc-one")
    first = get_session_storage()

    assert get_session_storage() is first
    settings.AWS_S3_SESSION_BUCKET = "tc-two"
    assert get_session_storage().bucket_name == "tc-two"  # type: ignore[attr-defined]
    settings.AWS_S3_SESSION_BUCKET = "tc-one"
    assert get_session_storage() is first


def test_the_models_file_field_gets_the_store(settings: Any, tmp_path: Path) -> None:
    settings.AWS_S3_SESSION_BUCKET = ""
    settings.SESSION_STORE_DIR = str(tmp_path)

    assert session_object_storage() is get_session_storage()
