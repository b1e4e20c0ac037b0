"""In the browser: the Content-Security-Policy blocks nothing the pages use, and two-step sign-in works."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from base64 import b32decode

import pytest

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.slow

PAGES = ["/", "/instances/new/", "/instances/e2e-csp/", "/instances/e2e-csp/login/", "/instances/e2e-csp/login/qr/",
         "/instances/e2e-csp/archive/", "/instances/e2e-csp/archive/search/?q=x", "/accounts/2fa/", "/admin/"]  # fmt: skip


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


def test_no_page_breaks_the_content_security_policy_and_the_websocket_connects(page):
    violations = _violations(page)
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto("/instances/new/")
    page.fill("#id_session", "e2e-csp")
    page.fill("#id_name", "CSP check")
    page.click("text=Create")
    page.wait_for_url(re.compile(r".*/instances/e2e-csp/$"))
    for path in PAGES:
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    page.goto("/instances/e2e-csp/archive/")
    page.wait_for_function("() => typeof htmx !== 'undefined'")  # the script file ran
    deadline = time.monotonic() + 10
    while not any("/ws/instances/e2e-csp/" in url for url in sockets) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert any("/ws/instances/e2e-csp/" in url for url in sockets)
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(248, 250, 252)"  # app.css was applied
    assert violations == []


def _totp(secret: str, at: float) -> str:
    from django_otp.oath import TOTP

    totp = TOTP(b32decode(secret.replace(" ", "")), 30, 0, 6, 0)
    totp.time = at
    return f"{totp.token():06d}"


def test_a_user_turns_on_two_step_sign_in_and_then_needs_the_code(browser, dashboard):
    create = "from django.contrib.auth import get_user_model\nget_user_model().objects.create_user('e2e-two', password='e2e-two-pass-9')"
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", create], cwd=ROOT, env=dashboard.env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    context = browser.new_context(base_url=dashboard.url)
    page = context.new_page()
    violations = _violations(page)

    def sign_in() -> None:
        page.goto("/accounts/login/")
        page.fill("#id_username", "e2e-two")
        page.fill("#id_password", "e2e-two-pass-9")
        page.click("button[type=submit]")

    sign_in()
    page.wait_for_url(f"{dashboard.url}/")
    page.goto("/accounts/2fa/")
    assert page.locator(".qr svg").is_visible()
    secret = page.locator(".secret").inner_text()
    page.fill("#id_token", _totp(secret, time.time()))
    page.click("text=Turn two-step sign-in on")
    page.wait_for_url(f"{dashboard.url}/")
    page.click("text=Sign out")
    sign_in()
    page.wait_for_url(re.compile(r".*/accounts/2fa/verify/.*"))
    page.goto("/")
    assert "/accounts/2fa/verify/" in page.url  # no page before the code
    page.fill("#id_token", _totp(secret, time.time() + 30))  # the next code: the last one was used
    page.click("text=Continue")
    page.wait_for_url(f"{dashboard.url}/")
    assert violations == []
    context.close()
