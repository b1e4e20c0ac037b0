"""A first archive run in the browser: rows appear live, a refused dialog says why, the console stays clean."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import _log_in, _new_instance

pytestmark = pytest.mark.slow

COLLECT = """() => {
    window.htmxErrors = [];
    for (const name of ['htmx:oobErrorNoTarget', 'htmx:swapError', 'htmx:targetError', 'htmx:wsError']) {
        document.body.addEventListener(name, (event) => window.htmxErrors.push(name));
    }
}"""


def test_a_first_run_adds_its_dialog_rows_live_without_console_errors(page):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    _new_instance(page, "e2e-cy", "Cy in the browser")
    _log_in(page, "e2e-cy", "+9996611003", "11111")
    page.goto("/instances/e2e-cy/archive/")
    assert page.locator("#archive-dialogs tbody tr[id^=dialog-]").count() == 0  # a first run: no rows yet
    page.evaluate(COLLECT)
    page.click("text=Start an archive run")
    page.locator("#archive-live").wait_for(state="visible")
    page.evaluate(COLLECT)  # the start redirects back to the page: listen on the new one
    page.wait_for_function(
        "() => document.querySelector('#archive-live [data-field=status]').textContent.trim() === 'done'",
        timeout=120_000,
    )
    page.wait_for_function(
        "() => document.querySelector('#archive-runs tbody tr .badge').textContent.trim() === 'done'", timeout=10_000
    )
    assert page.locator("#archive-dialogs tbody tr[id^=dialog-]").count() >= 6
    assert page.locator("#archive-runs tbody tr").first.locator("[data-skipped]").inner_text() == "1 dialog skipped"
    assert "You were removed from this channel, or it is private now." in page.locator("#archive-dialogs").inner_text()
    assert page.evaluate("() => window.htmxErrors") == []
    assert errors == []
