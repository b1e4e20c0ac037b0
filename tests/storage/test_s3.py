"""S3-only behaviour: object metadata, versions, the connector's view, and every failure mapped."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.stub import Stubber
from django.core.files.base import ContentFile
from moto.core import enable_iam_authentication
from storages.backends.s3 import S3Storage

from sessions_app.storage import (
    S3SessionStore,
    StoreError,
    StoreUnreachable,
    get_session_storage,
    session_key,
)

from .conftest import Backend, admin_client, configure_s3

SESSION = "prod-bot"
KEY = session_key(SESSION)
CONTENT = "1BVtsOK4Bu" + "A" * 340 + "=="


def test_objects_are_utf8_text_no_store_and_encrypted(s3: Backend) -> None:
    saved = s3.store.save(SESSION, CONTENT, expected_etag=None)

    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)

    assert head["ContentType"].startswith("text/plain")
    assert head["CacheControl"] == "no-store"
    assert head["ServerSideEncryption"] == "AES256"
    assert saved.encryption == "AES256"
    assert head["ETag"] == saved.etag


def test_objects_get_no_acl_beyond_the_owner(s3: Backend) -> None:
    s3.store.save(SESSION, CONTENT, expected_etag=None)

    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=KEY)["Grants"]

    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert grants[0]["Grantee"]["Type"] == "CanonicalUser"


def test_cleared_objects_keep_the_same_metadata(s3: Backend) -> None:
    s3.store.clear(SESSION, expected_etag=None)

    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)

    assert (head["ContentLength"], head["CacheControl"], head["ServerSideEncryption"]) == (0, "no-store", "AES256")


def test_it_encrypts_with_the_configured_kms_key(s3: Backend, settings: Any) -> None:
    kms = admin_client("kms", s3.endpoint)
    key_id = kms.create_key()["KeyMetadata"]["Arn"]
    configure_s3(settings, bucket=s3.bucket, endpoint=s3.endpoint, sse="aws:kms", kms_key_id=key_id)
    store = get_session_storage()

    saved = store.save(SESSION, CONTENT, expected_etag=None)

    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id.split("/")[-1])
    assert saved.encryption == "aws:kms"


def test_sse_none_sends_no_encryption_header_for_stores_that_refuse_it(s3: Backend, settings: Any) -> None:
    sent: list[dict[str, str]] = []
    for sse in ("AES256", "none"):
        configure_s3(settings, bucket=s3.bucket, endpoint=s3.endpoint, sse=sse)
        store = get_session_storage()
        store._client.meta.events.register(
            "before-send.s3.PutObject", lambda request, **_: sent.append(dict(request.headers))
        )
        store.save(f"{SESSION}-{sse.lower()}", CONTENT, expected_etag=None)
        assert store.load(f"{SESSION}-{sse.lower()}").content == CONTENT

    assert sent[0].get("x-amz-server-side-encryption") == b"AES256"
    assert "x-amz-server-side-encryption" not in sent[1]
    assert sent[1]["Cache-Control"] == b"no-store"


def test_it_reports_version_ids_when_the_bucket_versions(s3: Backend) -> None:
    s3.client.put_bucket_versioning(Bucket=s3.bucket, VersioningConfiguration={"Status": "Enabled"})

    first = s3.store.save(SESSION, CONTENT, expected_etag=None)
    second = s3.store.save(SESSION, "replaced", expected_etag=first.etag)

    assert first.version_id and second.version_id and first.version_id != second.version_id
    assert s3.client.head_object(Bucket=s3.bucket, Key=KEY)["VersionId"] == second.version_id
    loaded = s3.store.load(SESSION)
    assert loaded.info is not None and loaded.info.version_id == second.version_id
    assert s3.store.head(SESSION).version_id == second.version_id  # type: ignore[union-attr]


def test_it_reports_no_version_id_without_versioning(s3: Backend) -> None:
    saved = s3.store.save(SESSION, CONTENT, expected_etag=None)

    assert saved.version_id == ""
    assert s3.store.head(SESSION).version_id == ""  # type: ignore[union-attr]


def test_the_connector_loads_what_the_store_saved(s3: Backend) -> None:
    s3.store.save(SESSION, CONTENT, expected_etag=None)

    # The connector's load(), verbatim.
    assert s3.client.get_object(Bucket=s3.bucket, Key=KEY)["Body"].read().decode() == CONTENT


def test_the_connector_sees_a_revoked_session_as_empty(s3: Backend) -> None:
    saved = s3.store.save(SESSION, CONTENT, expected_etag=None)
    s3.store.clear(SESSION, expected_etag=saved.etag)

    assert s3.client.get_object(Bucket=s3.bucket, Key=KEY)["Body"].read().decode() == ""


def test_saved_info_matches_what_s3_reports(s3: Backend) -> None:
    saved = s3.store.save(SESSION, CONTENT, expected_etag=None)

    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)
    assert saved.size == head["ContentLength"]
    assert saved.last_modified is not None
    assert abs((saved.last_modified - head["LastModified"]).total_seconds()) <= 2


def test_django_saves_through_the_same_store_get_the_object_parameters(s3: Backend) -> None:
    name = s3.store.save("uploads/note.txt", ContentFile(b"hello"))

    head = s3.client.head_object(Bucket=s3.bucket, Key=name)
    assert (head["CacheControl"], head["ServerSideEncryption"]) == ("no-store", "AES256")
    assert isinstance(s3.store, S3Storage)
    assert s3.store.location == f"s3://{s3.bucket}"
    with s3.store.open(name) as f:  # keys carry no prefix even though location names the bucket
        assert (f.name, f.read()) == ("uploads/note.txt", b"hello")


# --- failures -------------------------------------------------------------------------------


def test_a_missing_bucket_is_reported_by_name(s3: Backend, settings: Any) -> None:
    configure_s3(settings, bucket="tc-no-such-bucket", endpoint=s3.endpoint)
    store = get_session_storage()

    for call in (
        lambda: store.load(SESSION),
        lambda: store.head(SESSION),  # over HTTP a HEAD says only "404"
        lambda: store.save(SESSION, CONTENT, expected_etag=None),
        lambda: store.clear(SESSION, expected_etag=None),
        store.ping,
    ):
        with pytest.raises(StoreError) as caught:
            call()
        assert not isinstance(caught.value, StoreUnreachable)
        assert caught.value.reason == "bucket does not exist"
        assert caught.value.bucket == "tc-no-such-bucket"
        assert "Bucket tc-no-such-bucket does not exist" in caught.value.message
        assert "AWS_S3_SESSION_BUCKET" in caught.value.message


def _limited_user(s3: Backend, actions: list[str]) -> tuple[str, str]:
    """An IAM user allowed only `actions` on the bucket's telegram/* objects."""
    iam = admin_client("iam", s3.endpoint)
    name = f"dashboard-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    if actions:
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{s3.bucket}/telegram/*"}],
        }
        iam.put_user_policy(UserName=name, PolicyName="session-objects", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@contextmanager
def _iam_enforced(s3: Backend, settings: Any, access_key: str, secret_key: str) -> Iterator[Any]:
    # moto checks signatures and IAM policies only inside this block (for both of its modes).
    configure_s3(settings, bucket=s3.bucket, endpoint=s3.endpoint, access_key=access_key, secret_key=secret_key)
    with enable_iam_authentication():
        yield get_session_storage()


def test_get_and_put_alone_are_enough_to_save_load_and_revoke(s3: Backend, settings: Any) -> None:
    access_key, secret_key = _limited_user(s3, ["s3:GetObject", "s3:PutObject"])

    with _iam_enforced(s3, settings, access_key, secret_key) as store:
        saved = store.save(SESSION, CONTENT, expected_etag=None)
        assert store.load(SESSION).content == CONTENT
        assert store.head(SESSION).etag == saved.etag
        cleared = store.clear(SESSION, expected_etag=saved.etag)
        assert store.load(SESSION).content == ""
        with pytest.raises(StoreError, match="changed by another writer"):
            store.save(SESSION, CONTENT, expected_etag=saved.etag)
        assert cleared.size == 0


def test_it_reports_access_denied_when_the_credentials_cannot_write(s3: Backend, settings: Any) -> None:
    s3.put_raw(SESSION, CONTENT.encode())
    access_key, secret_key = _limited_user(s3, ["s3:GetObject"])

    with _iam_enforced(s3, settings, access_key, secret_key) as store:
        assert store.load(SESSION).content == CONTENT
        for verb, call in (
            ("writing", lambda: store.save(SESSION, "x", expected_etag=None)),
            ("clearing", lambda: store.clear(SESSION, expected_etag=None)),
        ):
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.reason == "access denied"
            assert caught.value.message.startswith(f"Access denied {verb} s3://{s3.bucket}/{KEY}: ")
            assert "s3:PutObject" in caught.value.message
    assert s3.client.get_object(Bucket=s3.bucket, Key=KEY)["Body"].read().decode() == CONTENT


def test_it_reports_access_denied_when_the_credentials_cannot_read(s3: Backend, settings: Any) -> None:
    s3.put_raw(SESSION, CONTENT.encode())
    access_key, secret_key = _limited_user(s3, [])

    with _iam_enforced(s3, settings, access_key, secret_key) as store:
        for verb, call in (("reading", lambda: store.load(SESSION)), ("checking", lambda: store.head(SESSION))):
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.reason == "access denied"
            assert caught.value.message.startswith(
                f"Access denied {verb} s3://{s3.bucket}/{KEY}: the credentials lack s3:GetObject"
            )
            assert (caught.value.bucket, caught.value.key) == (s3.bucket, KEY)


def test_it_reports_an_unknown_access_key(s3: Backend, settings: Any) -> None:
    _limited_user(s3, ["s3:GetObject"])

    with _iam_enforced(s3, settings, "AKIAUNKNOWNUNKNOWN00", "whatever") as store:
        for call in (lambda: store.load(SESSION), lambda: store.head(SESSION), store.ping):
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.reason == "credentials rejected"
            assert "the access key id is unknown" in caught.value.message
            assert "AWS_ACCESS_KEY" in caught.value.message
            assert "whatever" not in caught.value.message


def test_it_reports_a_wrong_secret_key(s3: Backend, settings: Any) -> None:
    access_key, secret_key = _limited_user(s3, ["s3:GetObject", "s3:PutObject"])

    with _iam_enforced(s3, settings, access_key, secret_key[:-4] + "XXXX") as store:
        with pytest.raises(StoreError) as caught:
            store.save(SESSION, CONTENT, expected_etag=None)
    assert caught.value.reason == "credentials rejected"
    assert "the secret key does not match" in caught.value.message
    assert secret_key[:-4] not in caught.value.message


def test_s3_down_fails_fast_naming_the_endpoint(settings: Any, closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    configure_s3(settings, bucket="tc-down", endpoint=endpoint)
    store = get_session_storage()

    started = time.monotonic()
    with pytest.raises(StoreUnreachable) as caught:
        store.load(SESSION)
    elapsed = time.monotonic() - started

    assert elapsed < 8  # connection refused, retried twice with short backoff
    assert caught.value.reason == "unreachable"
    assert caught.value.message.startswith(f"Cannot reach S3 at {endpoint} while reading s3://tc-down/{KEY}: ")
    assert "connection refused" in caught.value.message
    assert "AWS_S3_ENDPOINT" in caught.value.message


def test_every_operation_reports_an_unreachable_store(closed_port: int) -> None:
    store = S3SessionStore(
        bucket_name="tc-down",
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        access_key="k",
        secret_key="s",
        max_attempts=0,
    )

    for verb, call in (
        ("checking", lambda: store.head(SESSION)),
        ("writing", lambda: store.save(SESSION, CONTENT, expected_etag='"abc"')),
        ("clearing", lambda: store.clear(SESSION, expected_etag=None)),
        ("checking", store.ping),
    ):
        with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{closed_port} while {verb}"):
            call()


def test_a_silent_endpoint_times_out_as_unreachable(silent_endpoint: str) -> None:
    store = S3SessionStore(
        bucket_name="tc-silent",
        endpoint_url=silent_endpoint,
        access_key="k",
        secret_key="s",
        read_timeout=0.3,
        max_attempts=0,
    )

    with pytest.raises(StoreUnreachable) as caught:
        store.load(SESSION)

    assert f"Cannot reach S3 at {silent_endpoint} while reading" in caught.value.message
    assert "no answer within 0.3 s" in caught.value.message


def test_the_production_client_uses_short_timeouts_and_two_retries(settings: Any) -> None:
    configure_s3(settings, bucket="tc-config")
    config = get_session_storage().connection.meta.client.meta.config

    assert (config.connect_timeout, config.read_timeout) == (5, 10)
    assert config.retries["total_max_attempts"] == 3


# botocore.Stubber only for answers moto never gives (an overloaded S3, a KMS failure).


@pytest.fixture
def stubbed(s3: Backend) -> Iterator[tuple[Any, Stubber]]:
    store = s3.store
    with Stubber(store.connection.meta.client) as stubber:
        yield store, stubber


def test_a_failing_s3_is_unreachable_not_a_session_problem(stubbed: tuple[Any, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_object", "SlowDown", "Please reduce your request rate.", 503)

    with pytest.raises(StoreUnreachable, match=r"failed while reading .*HTTP 503 SlowDown"):
        store.load(SESSION)


def test_a_kms_failure_names_the_key_setting(stubbed: tuple[Any, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", "KMS.NotFoundException", "Invalid keyId nope", 400)

    with pytest.raises(StoreError) as caught:
        store.save(SESSION, CONTENT, expected_etag=None)

    assert caught.value.reason == "encryption key problem"
    assert "AWS_S3_KMS_KEY_ID" in caught.value.message


def test_a_conditional_write_conflict_409_is_a_conflict(stubbed: tuple[Any, Stubber], s3: Backend) -> None:
    store, stubber = stubbed
    stubber.add_client_error("put_object", "ConditionalRequestConflict", "A conflicting operation is in progress", 409)
    stubber.add_response("head_object", {"ETag": '"winner"', "ContentLength": 5})

    with pytest.raises(StoreError) as caught:
        store.save(SESSION, CONTENT, expected_etag='"mine"')

    assert caught.value.reason == "conflict"
    assert caught.value.current.etag == '"winner"'  # type: ignore[attr-defined]
