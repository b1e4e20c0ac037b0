"""Item 9: a Content-Security-Policy without inline script, and signed-in pages that no cache keeps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SIGNED_IN_PAGES = [
    "/",
    "/instances/prod-bot/",
    "/instances/prod-bot/login/",
    "/instances/prod-bot/archive/",
    "/instances/prod-bot/archive/1/",
    "/instances/prod-bot/archive/search/?q=hello",
    "/instances/prod-bot/archive/export/?format=csv",
    "/accounts/2fa/",
    "/instances/no-such-instance/",  # a 404 page is a signed-in page too
]


def directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def archived(instance):
    make_messages(make_dialog(instance, 1, "One"), [1, 2])
    return instance


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_carry_a_csp_that_allows_no_inline_script(archived, owner_client, path):
    response = owner_client.get(path)
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]  # htmx and the websocket: this site only
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header and "*" not in header


def test_the_sign_in_page_carries_the_policy_too(db):
    assert "script-src 'self'" in Client().get("/accounts/login/")["Content-Security-Policy"]


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_are_private_and_never_stored(archived, operator_client, path):
    assert operator_client.get(path)["Cache-Control"] == "private, no-store"


def test_redirects_and_refusals_for_signed_in_users_are_not_stored_either(archived, viewer):
    client = client_for(viewer)
    refused = client.get("/instances/prod-bot/archive/export/?format=csv")
    assert refused.status_code == 403 and refused["Cache-Control"] == "private, no-store"
    posted = client.post("/instances/prod-bot/verify/")
    assert posted["Cache-Control"] == "private, no-store"


def test_static_files_stay_cacheable_for_signed_in_users(owner_client):
    response = owner_client.get("/static/sessions_app/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_anonymous_responses_are_not_marked_private_by_the_sign_in_rule(db):
    response = Client().get("/static/sessions_app/app.css")
    assert "private" not in response.get("Cache-Control", "")


def test_the_page_loads_its_styles_from_a_file_and_turns_htmx_eval_and_style_injection_off(owner_client):
    html = owner_client.get("/").content.decode()
    assert '<link rel="stylesheet" href="/static/sessions_app/app.css">' in html
    assert """<meta name="htmx-config" content='{"includeIndicatorStyles": false, "allowEval": false}'>""" in html
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/django_htmx/htmx-2.min.js" defer>',
        '<script src="/static/django_htmx/ext/hx-ws-2.min.js" defer>',
    ]


def _template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _template_files(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_style_or_event_handlers(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>: the CSP blocks it"
    assert "<style" not in text, "inline <style>: put it in sessions_app/static/sessions_app/app.css"
    assert not re.search(r"\sstyle\s*=", text), "style attribute: use a class from app.css"
    assert not re.search(r"\son[a-z]+\s*=", text), "on* handler attribute: the CSP blocks it"
    assert "javascript:" not in text and "hx-on" not in text and "js:" not in text


def test_the_template_scan_finds_what_it_looks_for(tmp_path):
    """Guards the scan above: it must see each kind of inline code it forbids."""
    patterns = [r"<script(?![^>]*\bsrc=)[^>]*>", r"\sstyle\s*=", r"\son[a-z]+\s*="]
    samples = ["<script>alert(1)</script>", '<div style="color:red">', '<a onclick="x()">']
    assert all(re.search(pattern, sample) for pattern, sample in zip(patterns, samples, strict=True))
    assert not re.search(patterns[0], '<script src="/static/x.js" defer></script>')
