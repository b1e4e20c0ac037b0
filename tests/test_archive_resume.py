"""A worker process killed mid-run (SIGKILL, not an exception) loses nothing: the next run resumes.

Runs the real stack in subprocesses: migrate, a db_worker picking the task from the database,
the demo Telegram shared through its SQLite file, then `manage.py archive` to finish.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import pytest

from sessions_app.telegram.fake import DemoTelegram
from tests.processes import site

PHONE = "9996621001"
POLL_SECONDS = 0.05
SETUP = """
from sessions_app.models import ConnectorInstance
from sessions_app.telegram import client as tg, login as tg_login
from sessions_app.services.keys import dashboard_key_mint
from sessions_app.telegram.fake import DemoTelegram
from tests.processes import site
from sessions_app.services.archive_runs import archive_run_start
world = DemoTelegram.from_settings()
world.seed_messages("9996621001", per_dialog=6000)
api = tg.default_credentials()
sent = tg_login.send_code(session="", phone="+9996621001", api=api)
signed = tg_login.sign_in_code(session=sent.session, phone="+9996621001", code="22222", phone_code_hash=sent.phone_code_hash, api=api)
instance = ConnectorInstance.objects.create(session="prod-bot", name="Prod", session_string=signed.session, status="active")
dashboard_key_mint(instance=instance, actor=None)
archive_run_start(instance=instance, actor=None)
"""


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_SECONDS)


@pytest.mark.slow
def test_a_killed_worker_resumes_with_no_gap_and_no_duplicate(tmp_path):
    app = site(tmp_path)
    setup = app.manage("shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    saved, db_path, env, manage = app.messages_saved, app.db_path, app.env, app.manage

    worker = app.popen(
        "db_worker",
        "--queue-name",
        "*",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.1",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: saved() >= 2500, 120, "the worker to archive a few thousand messages")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    at_kill = saved()
    truth = DemoTelegram(env["TELEGRAM_DEMO_STATE"]).history_of(PHONE)
    total = sum(len(rows) for rows in truth.values())
    assert 0 < at_kill < total, "the kill must land mid-run"

    with sqlite3.connect(db_path) as db:
        status = db.execute("SELECT status FROM sessions_app_archiverun").fetchone()[0]
    assert status == "running"  # nobody told the DB: the worker died without a word

    # No waiting for the heartbeat to go stale (90 s by default): the worker's process is gone
    # from this host, so `manage.py archive` takes the run over at once.
    resumed = manage("archive", "prod-bot")
    assert resumed.returncode == 0, resumed.stderr + resumed.stdout
    assert "done" in resumed.stdout

    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT peer_id, message_id, text FROM sessions_app_message ORDER BY peer_id, message_id"
        ).fetchall()
        distinct = db.execute(
            "SELECT COUNT(DISTINCT peer_id || ':' || message_id) FROM sessions_app_message"
        ).fetchone()[0]
        statuses = [r[0] for r in db.execute("SELECT status FROM sessions_app_archiverun ORDER BY id")]
        new_in_second = db.execute("SELECT messages_saved FROM sessions_app_archiverun ORDER BY id DESC").fetchone()[0]
    archived: dict[int, list[tuple[int, str]]] = {}
    for peer, message_id, text in rows:
        archived.setdefault(peer, []).append((message_id, text))
    assert archived == {peer: r for peer, r in truth.items() if r}  # no gap
    assert distinct == len(rows) == total  # no duplicate
    assert statuses == ["interrupted", "done"]
    assert new_in_second == total - at_kill
