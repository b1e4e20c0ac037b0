"""The real worker process (`manage.py worker`, as scripts/run starts it): the schedule runs by itself.

Subprocesses on a SQLite file and the demo Telegram's shared state file: one schedule however often
the worker restarts, checks that go on while a receiver times out, and while an archive run keeps
the task loop busy.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from sessions_app.telegram.fake import DemoTelegram

ROOT = Path(__file__).resolve().parent.parent.parent
SETUP = """
from sessions_app.models import ConnectorInstance, Membership, Role
from django.contrib.auth import get_user_model
from sessions_app.telegram import client as tg, login as tg_login
from sessions_app.services.keys import dashboard_key_mint, key_fingerprint
from sessions_app.services.sessions import session_save
owner = get_user_model().objects.create_user("olivia", email="olivia@example.com")
api = tg.default_credentials()
for session, phone, code in (("prod-bot", "+9996621001", "22222"), ("side-bot", "+9996611003", "11111")):
    sent = tg_login.send_code(session="", phone=phone, api=api)
    signed = tg_login.sign_in_code(session=sent.session, phone=phone, code=code, phone_code_hash=sent.phone_code_hash, api=api)
    instance = ConnectorInstance.objects.create(session=session, name=session.title(), session_string=signed.session,
        connector_key_fingerprint=key_fingerprint(signed.session), status="active")
    Membership.objects.create(user=owner, instance=instance, role=Role.OWNER)
    dashboard_key_mint(instance=instance, actor=None)
    session_save(instance=instance, actor=None)
"""
ARCHIVE = """
from sessions_app.models import ConnectorInstance
from sessions_app.services.archive_runs import archive_run_start
archive_run_start(instance=ConnectorInstance.objects.get(session="prod-bot"), actor=None)
"""


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


class Stack:
    """A migrated database with two logged-in, saved instances, and worker processes on it."""

    def __init__(self, tmp_path: Path, **settings: str) -> None:
        self.db_path = tmp_path / "db.sqlite3"
        self.logs = tmp_path
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TELEGRAM_", "AWS_", "DATABASE_", "DJANGO_", "REDIS_", "ALERT_", "HEALTH_"))
        }
        self.env.update(
            DATABASE_URL=f"sqlite:///{self.db_path}",
            TELECONNECT_VAR_DIR=str(tmp_path / "var"),
            TELEGRAM_DEMO_STATE=str(tmp_path / "telegram.sqlite3"),
            SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            HEALTH_CHECK_INTERVAL_SECONDS="1",
            PYTHONUNBUFFERED="1",
            **settings,
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        for script in ("migrate --noinput", None):
            args = script.split() if script else ["shell", "-c", SETUP]
            done = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr

    def shell(self, code: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115 - closed with the process
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--queue-name", "*", "--no-reload", "--no-startup-delay"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.workers.append(worker)
        return worker

    def stop(self, worker: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        worker.send_signal(sig)
        worker.wait(30)

    def log(self, index: int) -> str:
        return (self.logs / f"worker-{index}.log").read_text(encoding="utf-8", errors="replace")

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path, timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def checks(self, session: str | None = None) -> int:
        if session is None:
            return self.query("SELECT COUNT(*) FROM sessions_app_healthcheck")[0][0]
        return self.query(
            "SELECT COUNT(*) FROM sessions_app_healthcheck c JOIN sessions_app_connectorinstance i"
            " ON i.id = c.instance_id WHERE i.session = ?",
            session,
        )[0][0]

    def holder(self) -> str:
        rows = self.query("SELECT holder FROM sessions_app_healthschedule")
        return rows[0][0] if rows else ""

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait(30)


@pytest.fixture
def stack_factory(tmp_path) -> Iterator[Callable[..., Stack]]:
    made: list[Stack] = []

    def make(**settings: str) -> Stack:
        made.append(Stack(tmp_path, **settings))
        return made[-1]

    yield make
    for stack in made:
        stack.close()


@pytest.mark.slow
def test_a_worker_restarted_three_times_runs_exactly_one_schedule(stack_factory):
    stack = stack_factory()
    for _ in range(3):
        worker = stack.start_worker()
        wait_for(stack.holder, 60, "a worker to take the schedule")
        checked = stack.checks()
        wait_for(lambda: stack.checks() >= checked + 2, 60, "the schedule to check")  # noqa: B023
        stack.stop(worker)  # what Ctrl+C on scripts/run, or a deploy's restart, does
        assert worker.returncode == 0
        assert stack.holder() == ""  # handed on at once
    stack.start_worker()
    stack.start_worker()  # and a second worker beside it, as on a bigger deploy
    wait_for(stack.holder, 60, "a worker to take the schedule")
    time.sleep(1.5)  # let both workers settle
    before = {name: stack.checks(name) for name in ("prod-bot", "side-bot")}
    time.sleep(6)
    made = {name: stack.checks(name) - before[name] for name in before}
    # Interval 1 s: one schedule checks each instance about 6 times in 6 s; two would make about 12.
    assert all(3 <= count <= 8 for count in made.values()), made
    assert stack.query("SELECT COUNT(*) FROM sessions_app_healthschedule")[0][0] == 1


@pytest.mark.slow
def test_a_receiver_that_times_out_never_holds_the_checks_up_and_the_failure_is_recorded(stack_factory):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Silent(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(4)  # never answers in time

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stack = stack_factory(
            ALERT_WEBHOOK_URLS=f"http://127.0.0.1:{server.server_port}/hook",
            ALERT_TIMEOUT_SECONDS="1",
            ALERT_RETRY_SECONDS="1",
            ALERT_MAX_ATTEMPTS="3",
        )
        stack.start_worker()
        wait_for(lambda: stack.checks("prod-bot") >= 1, 60, "a first check")
        (connector_hash,) = stack.query(
            "SELECT connector_authorization_hash FROM sessions_app_connectorinstance WHERE session = 'prod-bot'"
        )[0]
        DemoTelegram(stack.env["TELEGRAM_DEMO_STATE"]).terminate(connector_hash)  # from "another device"
        wait_for(
            lambda: stack.query("SELECT COUNT(*) FROM sessions_app_alertdelivery WHERE attempts >= 1")[0][0] >= 1,
            60,
            "the first attempt to time out",
        )
        during = stack.checks()
        status = wait_for(
            lambda: stack.query(
                "SELECT status, attempts, last_error FROM sessions_app_alertdelivery WHERE channel = 'webhook'"
                " AND status = 'failed'"
            ),
            60,
            "the webhook delivery to fail for good",
        )
        assert status == [("failed", 3, "no answer within 1 s")]
        assert stack.checks() >= during + 3  # the checks went on while the sender waited
        outcomes = wait_for(  # the audit row may commit a moment after the delivery's status
            lambda: (
                rows
                if (
                    rows := stack.query(
                        "SELECT outcome FROM sessions_app_auditevent WHERE action = 'alert.delivery'"
                        " AND detail LIKE '%webhook%' ORDER BY id"
                    )
                )[-1:]
                == [("failed",)]
                else None
            ),
            30,
            "the delivery's failure to be audited",
        )
        assert outcomes == [("retrying",), ("retrying",), ("failed",)]
        emails = stack.query("SELECT status FROM sessions_app_alertdelivery WHERE channel = 'email'")
        assert emails == [("delivered",)]
        subject = "Subject: [teleconnect] Prod-Bot (prod-bot): connector session gone"
        assert stack.log(0).count(subject) == 1  # the console backend (no EMAIL_HOST)
        assert stack.query("SELECT status FROM sessions_app_connectorinstance WHERE session = 'prod-bot'") == [
            ("revoked",)
        ]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_a_long_archive_run_never_starves_the_checks(stack_factory):
    stack = stack_factory()
    DemoTelegram(stack.env["TELEGRAM_DEMO_STATE"]).seed_messages("9996621001", per_dialog=15000)
    stack.shell(ARCHIVE)
    stack.start_worker()

    def running() -> bool:
        return stack.query("SELECT status FROM sessions_app_archiverun")[0][0] == "running"

    wait_for(running, 60, "the archive run to start")
    before = {name: stack.checks(name) for name in ("prod-bot", "side-bot")}

    def made() -> dict[str, int]:
        return {name: stack.checks(name) - before[name] for name in before}

    # The task loop is busy with the run; the schedule is not: both instances get checked, and the
    # run hands prod-bot's connection over for its checks.
    wait_for(lambda: min(made().values()) >= 2, 60, "two checks of each instance during the run")
    assert running(), "the run must still be going for this to show anything"
    results = stack.query(
        "SELECT c.result FROM sessions_app_healthcheck c JOIN sessions_app_connectorinstance i"
        " ON i.id = c.instance_id WHERE i.session = 'prod-bot' ORDER BY c.id DESC LIMIT 2"
    )
    assert ("healthy",) in results, results
