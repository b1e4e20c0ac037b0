"""A real dashboard for the browser: daphne + a db_worker in subprocesses, on 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ADMIN = ("e2e-admin", "e2e-pass-4711")
POLL_SECONDS = 0.1
SETUP = f"""
from django.contrib.auth import get_user_model
from sessions_app.telegram.fake import DemoTelegram
get_user_model().objects.create_superuser("{ADMIN[0]}", "e2e@example.invalid", "{ADMIN[1]}")
DemoTelegram.from_settings().seed_messages("9996621001", per_dialog=5000)
"""


@dataclass
class Dashboard:
    url: str
    env: dict[str, str]

    def world(self):
        from sessions_app.telegram.fake import DemoTelegram

        return DemoTelegram(self.env["TELEGRAM_DEMO_STATE"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(POLL_SECONDS)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[Dashboard]:
    tmp = tmp_path_factory.mktemp("e2e")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "AWS_", "DATABASE_", "DJANGO_", "REDIS_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        TELECONNECT_VAR_DIR=str(tmp / "var"),
        TELEGRAM_DEMO_STATE=str(tmp / "telegram.sqlite3"),
        SESSION_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        PYTHONUNBUFFERED="1",
    )
    for args in (["migrate", "--noinput"], ["shell", "-c", SETUP]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    port = _free_port()
    logs = (tmp / "daphne.log").open("w"), (tmp / "worker.log").open("w")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "teleconnect.asgi:application"],
            cwd=ROOT, env=env, stdout=logs[0], stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay", "--interval", "0.2"],
            cwd=ROOT, env=env, stdout=logs[1], stderr=subprocess.STDOUT,
        ),
    ]  # fmt: skip
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", 60)
        yield Dashboard(url=f"http://127.0.0.1:{port}", env=env)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, dashboard):
    context = browser.new_context(base_url=dashboard.url)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", ADMIN[0])
    page.fill("#id_password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{dashboard.url}/")
    yield page
    context.close()


# Screenshots are kept as test artifacts (gitignored): $TEST_ARTIFACTS_DIR/screens, else test-artifacts/screens.
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or ROOT / "test-artifacts") / "screens"
_screenshots_taken: list[Path] = []


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _screenshots_taken.append(ARTIFACTS)
    return ARTIFACTS


def pytest_terminal_summary(terminalreporter) -> None:
    if _screenshots_taken:
        terminalreporter.write_line(f"Browser screenshots: {ARTIFACTS}")
