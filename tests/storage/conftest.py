"""Backends for the store contract: a local directory, moto in-process, and moto over real HTTP."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from sessions_app.storage import SessionStore, get_session_storage, session_key

S3_KINDS = ["moto", "moto-http"]


@dataclass
class Backend:
    """One store under test, plus a side door to the raw objects (what the connector sees)."""

    kind: str
    store: SessionStore
    put_raw: Callable[[str, bytes], None]
    delete_raw: Callable[[str], None]
    client: Any = None  # the raw boto3 S3 client (S3 kinds only)
    bucket: str = ""
    endpoint: str = ""


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No real credentials, config files or instance metadata may leak into a test.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


# One boto3 session for the tests' own clients: a new session re-parses botocore's models.
_admin = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def admin_client(service: str, endpoint: str = "") -> Any:
    """A client with moto's all-powerful default credentials (the connector's view, and setup)."""
    config = Config(s3={"addressing_style": "path"}) if service == "s3" and endpoint else None
    return _admin.client(service, endpoint_url=endpoint or None, config=config)


def configure_s3(settings: Any, *, bucket: str, endpoint: str = "", **overrides: str) -> None:
    settings.AWS_S3_SESSION_BUCKET = bucket
    settings.AWS_S3_ENDPOINT = endpoint
    settings.AWS_ACCESS_KEY = overrides.get("access_key", "testing")
    settings.AWS_SECRET_KEY = overrides.get("secret_key", "testing")
    settings.AWS_REGION = "us-east-1"
    settings.AWS_S3_SSE = overrides.get("sse", "AES256")
    settings.AWS_S3_KMS_KEY_ID = overrides.get("kms_key_id", "")


def _s3_backend(kind: str, endpoint: str, settings: Any) -> Backend:
    # A fresh bucket per test: mock_aws resets moto's state, the shared server keeps it.
    bucket = f"tc-{uuid.uuid4().hex[:16]}"
    client = admin_client("s3", endpoint)
    client.create_bucket(Bucket=bucket)
    configure_s3(settings, bucket=bucket, endpoint=endpoint)

    def put_raw(session: str, data: bytes) -> None:
        # What the connector's save() does: a plain PutObject, text/plain, no conditions.
        client.put_object(Bucket=bucket, Key=session_key(session), Body=data, ContentType="text/plain")

    def delete_raw(session: str) -> None:
        client.delete_object(Bucket=bucket, Key=session_key(session))

    return Backend(kind, get_session_storage(), put_raw, delete_raw, client, bucket, endpoint)


def _local_backend(settings: Any, tmp_path: Path) -> Backend:
    settings.AWS_S3_SESSION_BUCKET = ""
    settings.SESSION_STORE_DIR = str(tmp_path / "session-store")
    store = get_session_storage()

    def path(session: str) -> Path:
        return Path(store.location, *session_key(session).split("/"))

    def put_raw(session: str, data: bytes) -> None:
        path(session).parent.mkdir(parents=True, exist_ok=True)
        path(session).write_bytes(data)

    def delete_raw(session: str) -> None:
        path(session).unlink()

    return Backend("local", store, put_raw, delete_raw)


@pytest.fixture(params=["local", *S3_KINDS])
def backend(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "local":
        yield _local_backend(settings, tmp_path)
    elif request.param == "moto":
        with mock_aws():
            yield _s3_backend("moto", "", settings)
    else:
        yield _s3_backend("moto-http", request.getfixturevalue("moto_server"), settings)


@pytest.fixture(params=S3_KINDS)
def s3(request: pytest.FixtureRequest, settings: Any) -> Iterator[Backend]:
    if request.param == "moto":
        with mock_aws():
            yield _s3_backend("moto", "", settings)
    else:
        yield _s3_backend("moto-http", request.getfixturevalue("moto_server"), settings)


@pytest.fixture
def store(backend: Backend) -> SessionStore:
    return backend.store


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A 127.0.0.1 endpoint that accepts connections (via the backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def unique_session() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


def file_mode(path: str | os.PathLike[str]) -> int:
    return os.stat(path).st_mode & 0o777
