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
    # Record every value the live counter shows, as the websocket updates it (no reloads).
    page.evaluate(
        """() => {
            window.seen = [];
            const field = document.querySelector('#archive-live [data-field=messages_saved]');
            new MutationObserver(() => window.seen.push(Number(field.textContent))).observe(field, {childList: true, characterData: true, subtree: true});
        }"""
    )
    page.wait_for_function(
        "() => document.querySelector('#archive-live [data-field=status]').textContent.trim() === 'done'",
        timeout=120_000,
    )
    seen = page.evaluate("() => window.seen")
    assert len(set(seen)) >= 2 and seen == sorted(seen), f"the counter should move up live, saw {seen}"
    page.screenshot(path=str(tmp_path / "archive.png"), full_page=True)

    truth = dashboard.world().history_of("9996621001")
    word = next(w for rows in truth.values() for _, text in rows for w in text.split() if len(w) > 6 and w.isalpha())
    page.goto(f"/instances/e2e-ada/archive/search/?q={word}")
    assert page.locator("mark").first.is_visible()
