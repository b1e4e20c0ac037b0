"""GET /instances/<s>/archive/search/?q=: ranked results linking to the message in its dialog."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.archive_ui.conftest import make_dialog, make_messages

URL = "/instances/prod-bot/archive/search/"


def test_an_empty_query_shows_just_the_form(instance, viewer_client):
    make_dialog(instance, -100200, "Ops room")
    response = viewer_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<input type="text" name="q"' in html and '<option value="-100200">Ops room</option>' in html
    assert "result" not in html.lower().split("</form>")[1]


def test_it_finds_a_message_and_links_to_it_on_its_dialog_page(instance, viewer_client):
    dialog = make_dialog(instance, -100200, "Ops room", kind="supergroup")
    make_messages(dialog, range(1, 121))
    make_messages(dialog, [121], text="the deploy window is friday evening")
    response = viewer_client.get(URL, {"q": "deploy friday"})
    assert response.status_code == 200
    html = response.content.decode()
    link = "/instances/prod-bot/archive/-100200/?before=122#m121"
    assert f'href="{link}"' in html and "Ops room" in html and "2024-03-01 14:01" in html
    assert "<mark>deploy</mark>" in html and "<mark>friday</mark>" in html
    target = viewer_client.get(link.split("#")[0])
    assert 'id="m121"' in target.content.decode()


def test_a_result_deep_in_the_history_is_on_the_linked_page(instance, viewer_client):
    dialog = make_dialog(instance, 77, "Bob")
    make_messages(dialog, range(1, 300))
    make_messages(dialog, [300], text="the needle")
    make_messages(dialog, range(301, 400))
    html = viewer_client.get(URL, {"q": "needle"}).content.decode()
    href = re.search(r'href="(/instances/prod-bot/archive/77/\?before=\d+)#m300"', html).group(1)
    assert 'id="m300"' in viewer_client.get(href).content.decode()


def test_it_narrows_to_one_dialog(instance, viewer_client):
    make_messages(make_dialog(instance, 1, "First"), [1], text="shared word")
    make_messages(make_dialog(instance, 2, "Second"), [1], text="shared word")
    html = viewer_client.get(URL, {"q": "shared", "peer": "2"}).content.decode()
    assert "/archive/2/?before=2#m1" in html and "/archive/1/?before=2#m1" not in html
    assert '<option value="2" selected>' in html
    both = viewer_client.get(URL, {"q": "shared"}).content.decode()
    assert "/archive/2/?before=2#m1" in both and "/archive/1/?before=2#m1" in both


def test_message_text_in_results_is_escaped(instance, viewer_client):
    make_messages(make_dialog(instance, 1, "<i>Title</i>"), [1], text="<script>alert(1)</script> payload")
    html = viewer_client.get(URL, {"q": "payload"}).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html and "<mark>payload</mark>" in html
    assert "<i>Title</i>" not in html and "&lt;i&gt;Title&lt;/i&gt;" in html


def test_an_unsearchable_query_says_why(instance, viewer_client):
    response = viewer_client.get(URL, {"q": "!!! ???"})
    assert response.status_code == 400
    assert "Type at least one word or number to search for" in response.content.decode()


def test_a_bad_dialog_filter_is_a_400(instance, viewer_client):
    response = viewer_client.get(URL, {"q": "x", "peer": "abc"})
    assert response.status_code == 400 and "is not a dialog" in response.content.decode()


def test_no_match_says_so(instance, viewer_client):
    make_messages(make_dialog(instance, 1, "First"), [1], text="hello")
    html = viewer_client.get(URL, {"q": "absent"}).content.decode()
    assert "0 results" in html and "No archived message contains all of these words." in html


def test_it_never_searches_another_instances_messages(instance, other_instance, viewer_client, outsider_client):
    make_messages(make_dialog(other_instance, 9, "Theirs"), [1], text="confidential plan")
    assert "Theirs" not in viewer_client.get(URL, {"q": "confidential"}).content.decode()
    assert outsider_client.get(URL, {"q": "x"}).status_code == 404
    assert (
        "Theirs" in outsider_client.get("/instances/other-bot/archive/search/", {"q": "confidential"}).content.decode()
    )
    response = Client().get(URL, {"q": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_search_page_runs_a_fixed_number_of_queries(instance, viewer_client, django_assert_max_num_queries):
    for peer in range(1, 6):
        make_messages(make_dialog(instance, peer, f"Dialog {peer}"), range(1, 30), text="common words here")
    # 8 for the page (9 on PostgreSQL: the words' statistics first), up to 5 for its chained audit event
    with django_assert_max_num_queries(14):
        html = viewer_client.get(URL, {"q": "common"}).content.decode()
    assert html.count("<mark>common</mark>") == 50


def test_a_search_is_audited_without_its_query(instance, viewer_client):
    from sessions_app.models import AuditEvent

    viewer_client.get(f"{URL}?q=secretword")
    event = AuditEvent.objects.get(action="archive.search")
    assert "secretword" not in str(event.detail) and event.session == instance.session


def test_a_dialog_filter_costs_no_query_more_than_all_dialogs(instance, viewer_client):
    # The dialog's old basic groups come from the dialogs the filter lists anyway: no lookup of their own.
    supergroup = make_dialog(instance, -1001, "Supergroup", kind="supergroup")
    make_messages(make_dialog(instance, -1, "Old group", kind="group", migrated_to=supergroup), [1], text="roadmap old")
    make_messages(supergroup, [2], text="roadmap new")
    counts = {}
    for name, params in {"all": {"q": "roadmap"}, "one": {"q": "roadmap", "peer": "-1001"}}.items():
        with CaptureQueriesContext(connection) as queries:
            html = viewer_client.get(URL, params).content.decode()
        counts[name] = len(queries)
        assert "2 results" in html
    # PostgreSQL reads the words' statistics for a search of every dialog only (search/postgresql.py):
    # once for the whole word, once more for its prefix, as two results are fewer than a page.
    assert counts["one"] == counts["all"] - 2 * (connection.vendor == "postgresql"), counts
