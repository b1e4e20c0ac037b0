"""A running archive hands the dashboard's connection to an interactive action within about a chunk.

Two processes on one database and one demo Telegram, as in production: `manage.py archive` in one,
an "Active sessions" read in the other. The figure is printed, never asserted (no timing in tests).
"""

from __future__ import annotations

import sqlite3
import subprocess
import time

import pytest

from sessions_app.telegram.fake import DemoTelegram
from tests.processes import site

PHONE = "9996621001"

SETUP = """
from sessions_app.models import ConnectorInstance
from sessions_app.services.keys import dashboard_key_mint
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.fake import DemoTelegram
from tests.processes import site
from sessions_app.telegram.login import send_code, sign_in_code
DemoTelegram.from_settings().seed_messages("9996621001", per_dialog=15000)
api = default_credentials()
sent = send_code(session="", phone="+9996621001", api=api)
signed = sign_in_code(session=sent.session, phone="+9996621001", code="22222", phone_code_hash=sent.phone_code_hash, api=api)
instance = ConnectorInstance.objects.create(session="prod-bot", name="Prod", session_string=signed.session, status="active")
dashboard_key_mint(instance=instance, actor=None)
"""

INTERACTIVE = """
import time
from sessions_app.models import ConnectorInstance
from sessions_app.services.authorizations import authorizations_list
for attempt in range(3):
    instance = ConnectorInstance.objects.get(session="prod-bot")
    started = time.monotonic()
    view = authorizations_list(instance=instance, actor=None)
    print(f"served {len(view.rows)} rows in {(time.monotonic() - started) * 1000:.0f} ms")
    time.sleep(0.3)
"""


@pytest.mark.slow
def test_an_interactive_action_is_served_while_an_archive_runs(tmp_path):
    app = site(tmp_path)
    setup = app.manage("shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    saved = app.messages_saved

    archive = app.popen("archive", "prod-bot", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while saved() < 1000:
            assert archive.poll() is None, archive.communicate()
            assert time.monotonic() < deadline, "the archive did not get going"
            time.sleep(0.05)
        interactive = app.manage("shell", "-c", INTERACTIVE)
        during = saved()
        out, err = archive.communicate(timeout=300)
    finally:
        if archive.poll() is None:
            archive.kill()
    print("\n" + interactive.stdout.strip().replace("\n", "; ") + " (while the archive ran)")
    assert interactive.returncode == 0, interactive.stderr  # InstanceBusy would fail it: no "busy" for a run
    assert interactive.stdout.count("served") == 3
    assert archive.returncode == 0, err + out
    truth = DemoTelegram(app.env["TELEGRAM_DEMO_STATE"]).history_of(PHONE)
    total = sum(len(rows) for rows in truth.values())
    assert during < total, "the interactive action must land mid-run"
    with sqlite3.connect(app.db_path) as db:
        distinct = db.execute(
            "SELECT COUNT(DISTINCT peer_id || ':' || message_id) FROM sessions_app_message"
        ).fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM sessions_app_message").fetchone()[0]
    assert distinct == rows == total  # the archive carried on from its checkpoint: no gap, no duplicate
