"""The store's list operation (Discover's), on every backend: a local directory, moto, moto over HTTP."""

from __future__ import annotations

import pytest

from sessions_app.storage import StoreError, get_session_storage
from tests.fleet.conftest import Bucket
from tests.storage.conftest import backend, configure_s3

__all__ = ["backend"]


def test_it_lists_every_session_object_with_its_size_sorted_by_session(backend):
    backend.put_raw("zeta", b"1abc")
    backend.put_raw("alpha", b"")
    backend.put_raw("mid_1", b"12345")
    listed = backend.store.list_sessions()
    assert [(item.session, item.size, item.empty) for item in listed] == [
        ("alpha", 0, True),
        ("mid_1", 5, False),
        ("zeta", 4, False),
    ]
    assert all(item.last_modified is not None for item in listed)


def test_an_empty_store_lists_nothing(backend):
    assert backend.store.list_sessions() == []


def test_it_never_reads_the_content(backend):
    backend.put_raw("alpha", b"1secret-looking-content")
    assert "secret" not in repr(backend.store.list_sessions())


def test_other_keys_under_the_prefix_are_skipped(backend):
    backend.put_raw("alpha", b"x")
    if backend.client is not None:
        for key in ("telegram/alpha/other.txt", "telegram/bad.name/session.txt", "telegram/a/b/session.txt", "x.txt"):
            backend.client.put_object(Bucket=backend.bucket, Key=key, Body=b"x")
    assert [item.session for item in backend.store.list_sessions()] == ["alpha"]


def test_s3_pages_through_continuation_tokens(s3_pages):
    bucket, store = s3_pages
    for number in range(7):
        bucket.put(f"s{number:02d}", "x" * number)
    listed = store.list_sessions(page_size=2)  # four pages
    assert [item.session for item in listed] == [f"s{number:02d}" for number in range(7)]
    assert [item.size for item in listed] == list(range(7))


@pytest.fixture
def s3_pages(moto_server, settings):
    bucket = Bucket(moto_server)
    configure_s3(settings, bucket=bucket.name, endpoint=moto_server)
    return bucket, get_session_storage()


def test_without_list_bucket_it_names_the_missing_permission(moto_server, list_denied_endpoint, settings):
    bucket = Bucket(moto_server)
    bucket.put("alpha", "x")
    configure_s3(settings, bucket=bucket.name, endpoint=list_denied_endpoint)
    store = get_session_storage()
    with pytest.raises(StoreError) as refused:
        store.list_sessions()
    assert refused.value.reason == "access denied"
    assert f"s3:ListBucket on arn:aws:s3:::{bucket.name} with prefix telegram/" in refused.value.message
    # The rest of the store works as before through the same endpoint.
    assert store.head("alpha") is not None and store.load("alpha").content == "x"


def test_a_missing_bucket_is_said_as_such(moto_server, settings):
    configure_s3(settings, bucket="fleet-no-such-bucket", endpoint=moto_server)
    with pytest.raises(StoreError) as failed:
        get_session_storage().list_sessions()
    assert failed.value.reason == "bucket does not exist"
