"""Small things a team trips on every day: queued is said as queued, short searches get a hint,
the favicon exists, and the rename field stops where the rule does."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.test import Client

from tests.conftest import client_for, log_in

pytestmark = pytest.mark.django_db


def test_archive_now_says_the_runs_were_queued_not_done(telegram, instance, owner_client):
    log_in(instance)
    response = owner_client.post("/instances/bulk/", {"action": "archive", "session": ["prod-bot"]})
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said[0] == "Archive now: queued on 1 of 1 selected instance."
    assert not any("done on" in sentence for sentence in said)


@pytest.mark.parametrize("query", ["h", "hi", "ok hi"])
def test_a_search_for_a_one_or_two_letter_word_says_it_needs_three_characters(instance, viewer, query):
    page = client_for(viewer).get("/instances/prod-bot/archive/search/", {"q": query}).content.decode()
    hint = page.split('id="search-hint">')[1].split("</p>")[0]
    assert "a search needs at least 3 characters" in hint
    assert f"“{query.split()[-1]}” is shorter than 3 characters" in hint


def test_a_search_for_a_longer_word_gets_no_hint(instance, viewer):
    page = client_for(viewer).get("/instances/prod-bot/archive/search/", {"q": "hi there"}).content.decode()
    assert "0 results" in page and "search-hint" not in page


def test_favicon_ico_is_served_to_anyone_from_the_static_files():
    response = Client().get("/favicon.ico")
    assert response.status_code in (301, 302)
    assert response["Location"] == "/static/sessions_app/favicon.svg"
    found = finders.find("sessions_app/favicon.svg")
    assert found is not None and "<svg" in open(found, encoding="utf-8").read()  # noqa: PTH123, SIM115


def test_every_page_links_the_favicon(owner_client, instance):
    page = owner_client.get("/").content.decode()
    assert '<link rel="icon" href="/static/sessions_app/favicon.svg" type="image/svg+xml">' in page


def test_the_rename_field_takes_at_most_the_200_characters_the_rule_allows(owner_client, instance):
    page = owner_client.get("/instances/prod-bot/rename/").content.decode()
    [field] = re.findall(r'<input type="text" name="name"[^>]*>', page)
    assert 'maxlength="200"' in field and "required" in field and 'value="Production bot"' in field


def test_a_refused_rename_keeps_what_was_typed_and_the_limit(owner_client, instance):
    page = owner_client.post("/instances/prod-bot/rename/", {"name": "   "}).content.decode()
    [field] = re.findall(r'<input type="text" name="name"[^>]*>', page)
    assert 'maxlength="200"' in field and 'value="   "' in field
