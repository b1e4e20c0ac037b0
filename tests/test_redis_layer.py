"""With REDIS_URL, progress published by another process (the task worker) reaches a browser's socket.

A real redis-server on 127.0.0.1 (Debian's package) and channels-redis; the broadcast comes from
a separate `manage.py shell` process, as it would from db_worker.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator

from tests.archive_ui.test_consumer import _session_cookie, _snapshot, field

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.05

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
    pytest.mark.slow,
    pytest.mark.usefixtures("close_thread_connections"),
]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = shutil.which("redis-server")
    assert server, "redis-server is missing: .ci/run installs Debian's redis-server package"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(POLL_SECONDS)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


async def test_a_broadcast_from_another_process_reaches_the_socket(redis_url, settings, instance, viewer):
    from teleconnect.asgi import application

    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    channel_layers.backends.clear()
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(_session_cookie)(viewer)
    communicator = WebsocketCommunicator(
        application, "/ws/instances/prod-bot/", headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    await _snapshot(communicator)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env["REDIS_URL"] = redis_url
    script = (
        "from sessions_app.selectors.archive import ArchiveProgress\n"
        "from sessions_app.services.events import event_broadcast\n"
        "progress = ArchiveProgress(run_id=1, status='running', messages_saved=4242, dialogs_done=0, dialogs_total=3,"
        " rate=0.0, flood_wait_until=None, dialog=None)\n"
        "event_broadcast(session='prod-bot', kind='archive', data=progress.as_event())\n"
    )
    # In a thread: a blocking run would stall this event loop, and with it the socket's pending
    # read from Redis, which times out when the other process is slow to start (a busy machine).
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    live = await communicator.receive_from(timeout=10)
    assert field(live, "messages_saved") == "4242" and field(live, "dialogs_total") == "3"
    await communicator.disconnect()
    channel_layers.backends.clear()
