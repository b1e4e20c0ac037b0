"""Health tests: a saved, logged-in instance, an owner with an email address and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sessions_app.services.sessions import session_save
from tests.conftest import log_in

OWNER_EMAIL = "olivia@example.com"


@dataclass
class Receiver:
    """A webhook receiver: records each JSON body; answers `status` after `delay` seconds."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"the receiver got {len(self.received)} requests, expected {count}"
            time.sleep(0.02)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(json.loads(body))
            state.arrived.set()
            time.sleep(state.delay)
            try:
                self.send_response(state.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')
            except OSError:
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/T000/secret-token"
    settings.ALERT_WEBHOOK_URLS = [state.url]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_WEBHOOK_URLS = []
    settings.ALERT_EMAILS = []
    settings.ALERT_TIMEOUT_SECONDS = 2
    settings.ALERT_RETRY_SECONDS = 0
    settings.ALERT_MAX_ATTEMPTS = 3
    settings.DASHBOARD_URL = "https://teleconnect.example"
    settings.HEALTH_CHECK_INTERVAL_SECONDS = 300
    # In-process tests run inside a transaction other threads cannot see; tests/health/test_worker.py
    # runs the real worker with its default concurrency.
    settings.HEALTH_CHECK_CONCURRENCY = 1
    settings.HEALTH_OUTAGE_ALERT_SECONDS = 600


@pytest.fixture
def saved(telegram, instance, owner):
    """The instance logged in (connector key + the dashboard's own) and saved to the store; its owner has an email."""
    owner.email = OWNER_EMAIL
    owner.save(update_fields=["email"])
    log_in(instance)
    session_save(instance=instance, actor=None)
    instance.refresh_from_db()
    return instance
