"""Bringing a fleet in, over real HTTP: moto's S3 server, a bucket per test, connectors' objects in it.

`list_denied_endpoint` is an S3 endpoint on 127.0.0.1 whose bucket policy grants the connector's
Get+Put but not s3:ListBucket: it forwards every request to moto except ListObjectsV2, which it
answers as S3 does then (403 AccessDenied). moto's own IAM enforcement is process-wide
(INITIAL_NO_AUTH_ACTION_COUNT is read when moto is imported), so the refusal is played here, at
the boundary, with moto behind it for everything else.
"""

from __future__ import annotations

import http.client
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sessions_app.storage import session_key
from tests.storage.conftest import _aws_environment, admin_client, configure_s3, moto_server

__all__ = ["_aws_environment", "moto_server"]

ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>fleet</RequestId></Error>"
)


class Bucket:
    """A fresh bucket on the moto server, and the connector's side door (a plain PutObject)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.name = f"fleet-{uuid.uuid4().hex[:16]}"
        self.client = admin_client("s3", endpoint)
        self.client.create_bucket(Bucket=self.name)

    def put(self, session: str, content: str) -> None:
        # What a connector's save() does: text/plain, no conditions.
        self.client.put_object(
            Bucket=self.name, Key=session_key(session), Body=content.encode(), ContentType="text/plain"
        )

    def put_key(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)

    def read(self, session: str) -> str:
        try:
            body = self.client.get_object(Bucket=self.name, Key=session_key(session))["Body"]
        except self.client.exceptions.NoSuchKey:
            return ""
        return str(body.read().decode())


@pytest.fixture
def bucket(moto_server: str, settings: Any) -> Bucket:
    made = Bucket(moto_server)
    configure_s3(settings, bucket=made.name, endpoint=moto_server)
    return made


class _DenyListing(BaseHTTPRequestHandler):
    upstream: tuple[str, int]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _forward(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if self.command == "GET" and query.get("list-type") == ["2"]:
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(ACCESS_DENIED)))
            self.end_headers()
            self.wfile.write(ACCESS_DENIED)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        connection = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() != "connection"}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward


@pytest.fixture
def list_denied_endpoint(moto_server: str) -> Iterator[str]:
    """An endpoint to the same moto server, refusing only ListObjectsV2 (no s3:ListBucket)."""
    host, port = urlsplit(moto_server).hostname or "", urlsplit(moto_server).port or 80
    handler = type("DenyListing", (_DenyListing,), {"upstream": (host, port)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()
