"""Every page at 1280 px and 390 px, light and dark: no sideways scrolling, readable contrast, screenshots kept.

The pages come from pytest-django's live_server (one thread in this process, the demo Telegram
in memory); the states they show (a pending code, the password step, a QR code, an archive) are
made here with the services, and the browser carries a session cookie made by force_login.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from sessions_app.models import ConnectorInstance, Membership, Role
from tests.conftest import ADA, BEA, log_in

# A browser and a live server: like the other slow tests, these run in the SQLite pass only (the
# PostgreSQL pass of scripts/test leaves them out); nothing in them depends on the database engine.
pytestmark = pytest.mark.slow

WIDTHS = {"wide": 1280, "phone": 390}
SCHEMES = ("light", "dark")

# The page's layout and colours as numbers: what sticks out sideways (outside a box that scrolls
# itself), and every text whose contrast with what is really behind it is below WCAG AA.
MEASURE = """() => {
    const parse = (value) => {
        const m = value.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3])).concat([1]);
    const backdrop = (el) => {
        const layers = [];
        for (let e = el; e; e = e.parentElement) {
            const c = parse(getComputedStyle(e).backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let bg = [255, 255, 255, 1];
        for (const layer of layers.reverse()) bg = over(layer, bg);
        return bg;
    };
    const luminance = (c) => {
        const [r, g, b] = c.slice(0, 3).map((v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (a, b) => {
        const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
        return (hi + 0.05) / (lo + 0.05);
    };
    const visible = (el) => {
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return style.visibility !== 'hidden' && style.display !== 'none' && box.width > 0 && box.height > 0;
    };
    const width = document.documentElement.clientWidth;
    const poor = [];
    const seen = new Set();
    for (const el of document.body.querySelectorAll('*')) {
        if (el.closest('svg, [hidden], option') || el.closest(':disabled')) continue;  // disabled controls are exempt
        const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        const control = el.matches('input:not([type=hidden]), select, textarea, button');
        if (!(ownText || control) || !visible(el)) continue;
        const style = getComputedStyle(el);
        const bg = backdrop(el);
        const fg = over(parse(style.color), bg);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        const found = ratio(fg, bg);
        const needed = large ? 3 : 4.5;
        const text = (el.innerText || el.value || el.tagName).trim().slice(0, 40);
        const key = `${el.tagName}.${el.className}:${text}`;
        if (found < needed && !seen.has(key)) {
            seen.add(key);
            poor.push({text, tag: el.tagName, cls: String(el.className), ratio: Math.round(found * 100) / 100,
                       color: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})`});
        }
    }
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        if (el.closest('.table-scroll, svg') || !visible(el)) continue;
        const right = el.getBoundingClientRect().right + window.scrollX;
        if (right > width + 0.5) wide.push(`${el.tagName}.${el.className} ends at ${Math.round(right)} px`);
    }
    const signOut = [...document.querySelectorAll('header button')].find((b) => b.textContent.trim() === 'Sign out');
    const box = signOut ? signOut.getBoundingClientRect() : null;
    return {
        scrollWidth: document.documentElement.scrollWidth, width, poor, wide: wide.slice(0, 5),
        signOutShown: box === null ? null : box.left >= 0 && box.right <= width && box.width > 0,
        background: getComputedStyle(document.body).backgroundColor,
    };
}"""


@dataclass(frozen=True)
class Screen:
    name: str
    path: str
    prepare: Callable[..., None] | None = None
    user: str = "admin"  # "admin" (superuser), "viewer" (on prod-bot), or "" (signed out)
    ours: bool = True  # False: Django admin's own stylesheet (its layout is checked, not its colours)
    act: Callable[[Any], None] | None = None  # done in the browser after loading `path`; its result is measured


def _active(telegram) -> ConnectorInstance:
    """prod-bot logged in and saved, verified, checked once, with a small archive."""
    from sessions_app.services.archive_runs import archive_run_foreground
    from sessions_app.services.health.check import health_check
    from sessions_app.services.sessions import session_save, session_verify

    instance = log_in(ConnectorInstance.objects.get(session="prod-bot"))
    session_save(instance=instance, actor=None)
    session_verify(instance=instance, actor=None)
    health_check(instance=instance, trigger="manual")
    telegram.seed_messages(ADA.lstrip("+"), per_dialog=25)
    archive_run_foreground(instance=instance)
    return instance


def _pending(step: str) -> Callable[..., None]:
    def prepare(telegram) -> None:
        from sessions_app.services import login as login_service
        from sessions_app.services.login_import import login_qr_poll

        instance = ConnectorInstance.objects.get(session="prod-bot")
        if step == "qr":
            login_qr_poll(instance=instance, actor=None)
            return
        login_service.login_send_code(instance=instance, actor=None, phone=BEA if step == "password" else ADA)
        if step == "password":
            login_service.login_submit_code(instance=instance, actor=None, code="33333")

    return prepare


def _revoked(telegram) -> None:
    from sessions_app.services.revoke import session_revoke

    session_revoke(instance=_active(telegram), actor=None)


def _many_instances(telegram) -> None:
    _active(telegram)
    owner = get_user_model().objects.get(username="olivia")
    for n in range(12):
        other = ConnectorInstance.objects.create(
            session=f"connector-with-a-long-session-name-{n:02d}", name=f"A rather long display name number {n}"
        )
        Membership.objects.create(user=owner, instance=other, role=Role.OWNER)


def _bulk(action: str) -> Callable[[Any], None]:
    """Tick three rows (a logged-in one, two that are not) and press the bulk button: the result messages show."""

    def act(page) -> None:
        for session in ("prod-bot", "connector-with-a-long-session-name-00", "connector-with-a-long-session-name-01"):
            page.check(f"#select-{session}")
        with page.expect_navigation(wait_until="load"):
            page.click(f'#bulk button[value="{action}"]')
        assert page.locator(".messages li").count() >= 2, f"no bulk result messages after {action}"

    return act


def _search_word(telegram) -> str:
    truth = telegram.history_of(ADA.lstrip("+"))
    return next(w for rows in truth.values() for _, text in rows for w in text.split() if len(w) > 6 and w.isalpha())


SCREENS = [
    Screen("sign-in", "/accounts/login/", user=""),
    Screen("instance-list", "/", _many_instances),
    Screen("instance-list-search", "/?q=long-session-name&status=new&sort=-name", _many_instances),
    Screen("instance-list-search-empty", "/?q=no-such-connector-anywhere", _many_instances),
    Screen("instance-list-bulk-check", "/?q=o", _many_instances, act=_bulk("check")),
    Screen("instance-list-bulk-archive", "/", _many_instances, act=_bulk("archive")),
    Screen("instance-new", "/instances/new/"),
    Screen("instance-detail", "/instances/prod-bot/", _active),
    Screen("instance-detail-new", "/instances/prod-bot/"),
    Screen("instance-detail-revoked", "/instances/prod-bot/", _revoked),
    Screen("login-phone", "/instances/prod-bot/login/"),
    Screen("login-code", "/instances/prod-bot/login/", _pending("code")),
    Screen("login-password", "/instances/prod-bot/login/", _pending("password")),
    Screen("login-qr", "/instances/prod-bot/login/qr/", _pending("qr")),
    Screen("import", "/instances/prod-bot/import/"),
    Screen("active-sessions", "/instances/prod-bot/authorizations/", _active),
    Screen("revoke-confirm", "/instances/prod-bot/revoke/", _active),
    Screen("dashboard-key", "/instances/prod-bot/dashboard-key/", _active),
    Screen("terminate-confirm", "/instances/prod-bot/authorizations/terminate-others/", _active),
    Screen("archive", "/instances/prod-bot/archive/", _active),
    Screen("archive-dialog", "/instances/prod-bot/archive/{peer}/", _active),
    Screen("archive-search", "/instances/prod-bot/archive/search/?q={word}", _active),
    Screen("audit-trail", "/audit/", _active),
    Screen("instance-audit", "/instances/prod-bot/audit/", _active),
    Screen("members", "/instances/prod-bot/members/"),
    Screen("rename", "/instances/prod-bot/rename/"),
    Screen("rename-active", "/instances/prod-bot/rename/", _active),
    Screen("delete", "/instances/prod-bot/delete/", _active),
    Screen("delete-nothing-live", "/instances/prod-bot/delete/"),
    Screen("alerts", "/alerts/", _active),
    Screen("two-step-sign-in", "/accounts/2fa/"),
    Screen("forbidden-403", "/instances/prod-bot/members/", user="viewer"),
    Screen("not-found-404", "/instances/no-such-bot/"),
    Screen("admin-index", "/admin/", ours=False),
]


@pytest.fixture(scope="module", autouse=True)
def _database_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in this thread; Django's ORM here is still plain sync code."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def _cookies(user, live_server_url: str) -> list[dict[str, str]]:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return [{"name": name, "value": client.cookies[name].value, "url": live_server_url}]


@pytest.fixture
def signed_in(browser, live_server, admin_user, instance, viewer) -> Iterator[Callable[[str], object]]:
    contexts = []

    def context_for(who: str):
        context = browser.new_context(base_url=live_server.url)
        contexts.append(context)
        if who:
            context.add_cookies(_cookies(admin_user if who == "admin" else viewer, live_server.url))
        return context.new_page()

    yield context_for
    for context in contexts:
        context.close()


@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_the_page_fits_a_phone_and_reads_in_light_and_dark(screen, signed_in, telegram, artifacts, settings):
    settings.TELEGRAM_DEMO = True  # the header's "demo Telegram" badge is on every page
    if screen.prepare is not None:
        screen.prepare(telegram)
    path = screen.path
    if "{peer}" in path or "{word}" in path:
        from sessions_app.models import Dialog

        peer = (
            Dialog.objects.filter(message_count__gt=0).order_by("-message_count").values_list("peer_id", flat=True)[0]
        )
        path = path.format(peer=peer, word=_search_word(telegram))
    page = signed_in(screen.user)
    found = {}
    for size, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        response = page.goto(path, wait_until="load")
        expected = {"forbidden-403": 403, "not-found-404": 404}.get(screen.name, 200)
        assert response is not None and response.status == expected, (screen.name, response and response.status)
        if screen.act is not None:
            screen.act(page)
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            measured = page.evaluate(MEASURE)
            shot = artifacts / f"{screen.name}-{size}-{scheme}.png"
            page.screenshot(path=str(shot), full_page=True)
            found[(size, scheme)] = measured
            where = f"{screen.name} at {width} px, {scheme} ({shot})"
            assert measured["scrollWidth"] <= measured["width"], f"{where} scrolls sideways: {measured['wide']}"
            if not screen.ours:
                continue
            assert measured["poor"] == [], f"{where} has text below WCAG AA contrast: {measured['poor']}"
            if screen.user:
                assert measured["signOutShown"], f"{where} cuts off Sign out"
    # Dark mode follows the system setting: the two schemes really differ.
    assert not screen.ours or found[("wide", "light")]["background"] != found[("wide", "dark")]["background"]


def test_a_wide_table_scrolls_inside_its_box_on_a_phone(signed_in, telegram, artifacts):
    """The page does not scroll sideways, but the wide table does, inside its own box."""
    _many_instances(telegram)
    page = signed_in("admin")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/instances/prod-bot/", wait_until="load")
    scroller = page.locator(".table-scroll").first
    assert scroller.evaluate("(el) => el.scrollWidth > el.clientWidth"), "the health table should be wider than a phone"
    assert scroller.evaluate("(el) => getComputedStyle(el).overflowX") == "auto"
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_measure_finds_overflow_and_poor_contrast(signed_in, live_server):
    """The checks above can fail: a page made too wide and grey on grey is caught by both."""
    page = signed_in("")
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto("/accounts/login/", wait_until="load")
    page.evaluate(
        """() => {
            const wide = document.createElement('p');
            wide.textContent = 'grey on grey';
            wide.className = 'probe';
            wide.setAttribute('hidden', '');
            document.querySelector('main').append(wide);
            wide.removeAttribute('hidden');
            for (const [name, value] of [['width', '900px'], ['color', '#999'], ['background-color', '#aaa']]) {
                wide.style.setProperty(name, value);
            }
        }"""
    )
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] > measured["width"]
    assert any(item["text"] == "grey on grey" for item in measured["poor"])
    assert any(re.match(r"P\.probe ends at \d+ px", item) for item in measured["wide"])
