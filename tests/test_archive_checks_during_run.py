"""Health checks never interrupt an archive run: the run answers them over its own connection.

The run and the check are two processes on one database and one demo Telegram, as in production
(a worker's run and the web's "Check now"): the check leaves its request in the database, the run
sends account.getAuthorizations between two chunks and writes the answer back, keeping its
connection and its one takeout throughout.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time

import pytest

from sessions_app.models_network import ServedRequest
from sessions_app.services.health.check import health_check
from sessions_app.services.lease import lease_acquire, lease_release
from sessions_app.telegram.fake import DemoTelegram
from tests.conftest import log_in
from tests.processes import site

PHONE = "9996621001"
POLL_SECONDS = 0.05

SETUP = """
from sessions_app.models import ConnectorInstance
from sessions_app.services.keys import dashboard_key_mint
from sessions_app.telegram.client import default_credentials
from sessions_app.telegram.fake import DemoTelegram
from sessions_app.telegram.login import send_code, sign_in_code
world = DemoTelegram.from_settings()
world.seed_messages("9996621001", per_dialog=6000)
world.approve_takeout("9996621001")
api = default_credentials()
sent = send_code(session="", phone="+9996621001", api=api)
signed = sign_in_code(session=sent.session, phone="+9996621001", code="22222", phone_code_hash=sent.phone_code_hash, api=api)
instance = ConnectorInstance.objects.create(session="prod-bot", name="Prod", session_string=signed.session, status="active")
dashboard_key_mint(instance=instance, actor=None)
"""


def _wait_while_running(process: subprocess.Popen[str], condition, timeout: float, what: str) -> None:
    """Until ``condition()`` holds or the process ends, looking again whenever a short wait for its end lapses."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        try:
            process.wait(POLL_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        return


@pytest.mark.slow
def test_a_check_during_a_takeout_run_is_answered_over_the_runs_connection(tmp_path):
    # Each answer held back 0.2 s, as a real network would: the run lasts well beyond the check
    # (about 250 history requests), however fast the machine.
    app = site(tmp_path, TELEGRAM_DEMO_DELAY_SECONDS="0.2")
    setup = app.manage("shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    world = DemoTelegram(app.env["TELEGRAM_DEMO_STATE"])
    before = world.takeout_inits(PHONE)

    archive = app.popen("archive", "prod-bot", "--takeout", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_while_running(archive, lambda: app.messages_saved() >= 1000, 120, "the run to get going")
        assert archive.poll() is None, archive.communicate()
        check = app.manage("check_sessions", "prod-bot")
        during = app.messages_saved()
        out, err = archive.communicate(timeout=300)
    finally:
        if archive.poll() is None:
            archive.kill()

    assert archive.returncode == 0, err + out
    assert check.returncode == 0, check.stderr + check.stdout
    with sqlite3.connect(app.db_path) as db:
        result, finding = db.execute("SELECT result, connector_finding FROM sessions_app_healthcheck").fetchone()
        served_left = db.execute("SELECT COUNT(*) FROM sessions_app_servedrequest").fetchone()[0]
    assert result == "healthy" and finding in ("listed", "alive"), check.stdout
    total = sum(len(rows) for rows in world.history_of(PHONE).values())
    assert during < total, "the check must land mid-run"
    assert world.takeout_inits(PHONE) == before + 1  # no handover: the run never let go of its takeout
    assert served_left == 0


@pytest.fixture
def active(telegram, instance):
    return log_in(instance)


def test_a_check_while_nobody_holds_the_connection_asks_telegram_itself(telegram, active):
    check = health_check(instance=active, trigger="web")

    assert check.result == "healthy" and check.connector_finding in ("listed", "alive")
    assert not ServedRequest.objects.exists()


def test_a_check_while_an_interactive_action_holds_the_connection_is_busy_not_served(telegram, active):
    lease_acquire(session=active.session, holder="someone", purpose="authorizations.list", wait=0)
    try:
        check = health_check(instance=active, trigger="web")
    finally:
        lease_release(session=active.session, holder="someone")

    assert check.result == "busy"
    assert not ServedRequest.objects.exists()
