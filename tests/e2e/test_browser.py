"""What a person does in the browser, against the running dashboard (daphne, worker, demo Telegram)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow


def _new_instance(page, session: str, name: str) -> None:
    page.goto("/instances/new/")
    page.fill("#id_session", session)
    page.fill("#id_name", name)
    page.click("text=Create")
    page.wait_for_url(re.compile(rf".*/instances/{session}/$"))


def _log_in(page, session: str, phone: str, code: str, password: str | None = None) -> None:
    page.click("text=Log in to Telegram")
    page.fill("#id_phone", phone)
    page.click("text=Send code")
    page.fill("#id_code", code)
    page.click("button:has-text('Sign in')")
    if password is not None:
        assert page.locator("text=two-step verification").first.is_visible()
        page.fill("#id_password", "not the password")
        page.click("text=Check password")
        assert page.locator("text=password is wrong").is_visible()
        page.fill("#id_password", password)
        page.click("text=Check password")
    page.wait_for_url(re.compile(rf".*/instances/{session}/$"))


def test_a_demo_login_without_2fa_reaches_active(page, tmp_path):
    _new_instance(page, "e2e-ada", "Ada in the browser")
    page.click("text=Log in to Telegram")
    page.fill("#id_phone", "+1 555")  # bad input first: a sentence, nothing sent
    page.click("text=Send code")
    assert page.locator("text=international format").first.is_visible()
    page.goto("/instances/e2e-ada/")
    _log_in(page, "e2e-ada", "+999 66 2 1001", "22222")
    assert page.locator("#status").inner_text() == "active"
    assert "Logged in as Ada Demo" in page.content()
    page.screenshot(path=str(tmp_path / "active.png"), full_page=True)


def test_a_demo_login_with_2fa_reaches_active(page):
    _new_instance(page, "e2e-bea", "Bea in the browser")
    _log_in(page, "e2e-bea", "+9996631002", "33333", password="correct horse battery")
    assert page.locator("#status").inner_text() == "active"


def test_an_archive_started_in_the_page_moves_and_is_searchable(page, dashboard, tmp_path):
    page.goto("/instances/e2e-ada/archive/")
    page.click("text=Start an archive run")
    page.locator("#archive-live").wait_for(state="visible")
    # Record the live counter after every websocket message htmx swaps in; the marker on window
    # would not survive a reload.
    page.evaluate(
        """() => {
            window.stayed = true;
            window.seen = [];
            document.body.addEventListener('htmx:wsAfterMessage', () => {
                const field = document.querySelector('#archive-live [data-field=messages_saved]');
                if (field) window.seen.push(Number(field.textContent));
            });
        }"""
    )
    page.wait_for_function(
        "() => document.querySelector('#archive-live [data-field=status]').textContent.trim() === 'done'",
        timeout=120_000,
    )
    # The run's end refreshes the runs table (and the dialogs) in place.
    page.wait_for_function(
        "() => document.querySelector('#archive-runs tbody tr .badge').textContent.trim() === 'done'", timeout=10_000
    )
    seen = page.evaluate("() => window.seen")
    assert len(set(seen)) >= 2 and seen == sorted(seen), f"the counter should move up live, saw {seen}"
    assert page.evaluate("() => window.stayed") is True
    saved = page.locator("#archive-live [data-field=messages_saved]").inner_text()
    assert page.locator("#archive-runs tbody tr").first.locator("td.num").first.inner_text() == saved
    assert int(saved) == seen[-1] > 0
    assert page.locator("#archive-dialogs tbody tr").count() > 1
    assert page.locator("#archive-start button").is_enabled()
    page.screenshot(path=str(tmp_path / "archive.png"), full_page=True)

    truth = dashboard.world().history_of("9996621001")
    word = next(w for rows in truth.values() for _, text in rows for w in text.split() if len(w) > 6 and w.isalpha())
    page.goto(f"/instances/e2e-ada/archive/search/?q={word}")
    assert page.locator("mark").first.is_visible()


PROBE = """(path) => new Promise((resolve) => {
    // A socket htmx opens and keeps (re)opening as the page would: count attempts, collect close codes.
    const found = {attempts: 0, codes: []};
    const probe = document.createElement('div');
    probe.setAttribute('hx-ext', 'ws');
    probe.setAttribute('ws-connect', path);
    probe.addEventListener('htmx:wsConnecting', () => { found.attempts += 1; });
    probe.addEventListener('htmx:wsClose', (event) => { found.codes.push(event.detail.event.code); });
    document.body.append(probe);
    htmx.process(probe);
    setTimeout(() => resolve(found), 3000);  // a retry would come within a second
})"""


def test_a_refused_socket_closes_with_its_code_and_htmx_does_not_reconnect(page, browser, dashboard):
    page.goto("/instances/e2e-ada/archive/")
    assert page.evaluate(PROBE, "/ws/instances/no-such-bot/") == {"attempts": 1, "codes": [4404]}
    assert page.evaluate(PROBE, "/ws/nope/") == {"attempts": 1, "codes": [4404]}
    anonymous = browser.new_context(base_url=dashboard.url).new_page()
    anonymous.goto("/accounts/login/")
    assert anonymous.evaluate(PROBE, "/ws/instances/e2e-ada/") == {"attempts": 1, "codes": [4401]}
    anonymous.context.close()
