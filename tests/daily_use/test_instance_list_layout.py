"""The instance list at 1280 px shows every column without clipping; at 390 px each row is a card
that shows its SESSION, status and health. Light and dark; screenshots kept with the other screens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import artifacts, browser  # noqa: F401 - the browser fixtures, shared
from tests.e2e.test_screens import _cookies, _database_beside_playwright, _many_instances  # noqa: F401

pytestmark = pytest.mark.slow  # a browser and a live server, like tests/e2e/test_screens.py

SCHEMES = ("light", "dark")

# Where each column of the list ends up, and whether the table is wider than its box.
MEASURE = """() => {
    const scroller = document.querySelector('table.instance-list').closest('.table-scroll');
    const box = scroller.getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    const inside = (el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.height > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5
            && r.left >= 0 && r.right <= width + 0.5 && getComputedStyle(el).visibility !== 'hidden';
    };
    // Columns by position: tick box, SESSION, name, status, health, then the rest.
    const rows = [...document.querySelectorAll('table.instance-list tbody tr')].map((tr) => ({
        session: tr.cells[1].querySelector('a > code').textContent,
        sessionShown: inside(tr.cells[1].querySelector('a > code')),
        statusShown: inside(tr.cells[3].querySelector('.badge')),
        healthShown: inside(tr.cells[4].firstElementChild),
        cells: [...tr.cells].map(inside),
    }));
    return {
        pageScrolls: document.documentElement.scrollWidth > width,
        headingWidth: document.querySelector('h1').getBoundingClientRect().width,
        tableScrolls: scroller.scrollWidth > scroller.clientWidth + 0.5,
        headers: [...document.querySelectorAll('table.instance-list thead th')].map((th) => [th.textContent.trim(), inside(th)]),
        rows,
    };
}"""


@pytest.fixture
def list_page(browser, live_server, admin_user, instance, telegram) -> Iterator:  # noqa: F811
    _many_instances(telegram)
    context = browser.new_context(base_url=live_server.url)
    context.add_cookies(_cookies(admin_user, live_server.url))
    page = context.new_page()
    yield page
    context.close()


def _shots(page, artifacts, size: str) -> dict[str, dict]:  # noqa: F811
    found = {}
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        found[scheme] = page.evaluate(MEASURE)
        page.screenshot(path=str(artifacts / f"daily-use-instance-list-{size}-{scheme}.png"), full_page=True)
    return found


def test_at_1280_px_every_column_fits_without_scrolling(list_page, artifacts):  # noqa: F811
    list_page.set_viewport_size({"width": 1280, "height": 900})
    list_page.goto("/", wait_until="load")
    for scheme, measured in _shots(list_page, artifacts, "wide").items():
        assert not measured["pageScrolls"] and not measured["tableScrolls"], scheme
        assert [name for name, shown in measured["headers"] if not shown] == [], scheme
        assert "Updated" in [name for name, _ in measured["headers"]]
        assert len(measured["rows"]) == 13
        assert all(all(row["cells"]) for row in measured["rows"]), (scheme, measured["rows"])


def test_at_390_px_each_row_shows_session_status_and_health(list_page, artifacts):  # noqa: F811
    list_page.set_viewport_size({"width": 390, "height": 900})
    list_page.goto("/", wait_until="load")
    for scheme, measured in _shots(list_page, artifacts, "phone").items():
        assert not measured["pageScrolls"] and not measured["tableScrolls"], scheme
        assert len(measured["rows"]) == 13
        for row in measured["rows"]:
            assert row["sessionShown"] and row["statusShown"] and row["healthShown"], (scheme, row)
        assert measured["headingWidth"] > 150, "the heading is squeezed beside its buttons"
    assert (
        list_page.locator("table.instance-list td.status").first.evaluate(
            "(td) => getComputedStyle(td, '::before').content"
        )
        == '"Status: "'
    )
