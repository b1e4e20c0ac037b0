"""GET /instances/<s>/archive/<peer_id>/: one dialog's messages, newest first, keyset pages of 50."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from tests.archive_ui.conftest import BASE_DATE, make_dialog, make_messages

PEER = -1001234567890
URL = f"/instances/prod-bot/archive/{PEER}/"


def shown(response) -> list[int]:
    return [int(found) for found in re.findall(r'<li class="msg[^"]*" id="m(\d+)"', response.content.decode())]


@pytest.fixture
def dialog(instance):
    return make_dialog(instance, PEER, "Team chat", kind="supergroup")


def test_an_empty_dialog_says_so_without_page_links(dialog, viewer_client):
    response = viewer_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(response) == [] and "No messages archived in this dialog yet." in html
    assert "?before=" not in html and "?after=" not in html


def test_exactly_one_page_has_no_older_link(dialog, viewer_client):
    make_messages(dialog, range(1, 51))
    response = viewer_client.get(URL)
    assert shown(response) == list(range(50, 0, -1))
    html = response.content.decode()
    assert "Older ›" not in html and "‹ Newer" not in html and "Oldest »" not in html


def test_fifty_one_messages_make_two_pages_linked_both_ways(dialog, viewer_client):
    make_messages(dialog, range(1, 52))
    first = viewer_client.get(URL)
    assert shown(first) == list(range(51, 1, -1))
    html = first.content.decode()
    assert f'href="{URL}?before=2" rel="next">Older ›' in html and f'href="{URL}?after=0">Oldest »' in html
    assert "‹ Newer" not in html

    second = viewer_client.get(URL + "?before=2")
    assert shown(second) == [1]
    html = second.content.decode()
    assert "Older ›" not in html
    assert f'href="{URL}?after=1" rel="prev">‹ Newer' in html and f'href="{URL}">« Newest' in html

    back = viewer_client.get(URL + "?after=1")
    assert shown(back) == list(range(51, 1, -1))
    assert "‹ Newer" not in back.content.decode()


def test_the_oldest_link_shows_the_first_fifty_newest_first(dialog, viewer_client):
    make_messages(dialog, range(1, 121))
    oldest = viewer_client.get(URL + "?after=0")
    assert shown(oldest) == list(range(50, 0, -1))
    html = oldest.content.decode()
    assert "Older ›" not in html and f'href="{URL}?after=50" rel="prev">‹ Newer' in html


def test_paging_walks_every_message_exactly_once_across_gaps(dialog, viewer_client):
    ids = sorted({n * 7 % 1000 + 1 for n in range(260)})  # 260 distinct ids with gaps
    make_messages(dialog, ids)
    seen, url = [], URL
    while url:
        response = viewer_client.get(url)
        seen += shown(response)
        found = re.search(r'href="([^"]*\?before=-?\d+)" rel="next"', response.content.decode())
        url = found.group(1) if found else None
    assert seen == sorted(ids, reverse=True)


def test_before_beyond_the_oldest_message_shows_an_empty_page_linking_back(dialog, viewer_client):
    make_messages(dialog, range(10, 20))
    response = viewer_client.get(URL + "?before=5")
    assert response.status_code == 200 and shown(response) == []
    html = response.content.decode()
    assert "No messages on this page" in html and f'href="{URL}?after=4" rel="prev"' in html
    assert shown(viewer_client.get(URL + "?after=4")) == list(range(19, 9, -1))


def test_after_beyond_the_newest_message_links_back_to_older_ones(dialog, viewer_client):
    make_messages(dialog, range(10, 20))
    response = viewer_client.get(URL + "?after=500")
    assert shown(response) == [] and f'href="{URL}?before=501" rel="next"' in response.content.decode()


@pytest.mark.parametrize(
    "query", ["?before=abc", "?after=1.5", "?before=" + "9" * 30, "?after=-" + "9" * 30, "?before=3&after=1"]
)
def test_a_bad_cursor_is_a_400_with_a_sentence_never_a_500(dialog, viewer_client, query):
    make_messages(dialog, range(1, 5))
    response = viewer_client.get(URL + query)
    assert response.status_code == 400
    assert 'class="errorlist nonfield"' in response.content.decode()


def test_an_empty_cursor_is_ignored(dialog, viewer_client):
    make_messages(dialog, range(1, 5))
    assert shown(viewer_client.get(URL + "?before=")) == [4, 3, 2, 1]


def test_peer_ids_are_signed_64_bit(instance, viewer_client):
    make_messages(make_dialog(instance, -9223372036854775808, "Most negative"), [1])
    make_messages(make_dialog(instance, 9223372036854775807, "Most positive"), [2])
    assert shown(viewer_client.get("/instances/prod-bot/archive/-9223372036854775808/")) == [1]
    assert shown(viewer_client.get("/instances/prod-bot/archive/9223372036854775807/")) == [2]
    assert viewer_client.get("/instances/prod-bot/archive/9223372036854775808/").status_code == 404
    assert viewer_client.get("/instances/prod-bot/archive/-9223372036854775809/").status_code == 404
    assert viewer_client.get("/instances/prod-bot/archive/--5/").status_code == 404


def test_unknown_peers_and_other_instances_dialogs_are_404(dialog, other_instance, viewer_client, outsider_client):
    make_dialog(other_instance, 555, "Their secret chat")
    assert viewer_client.get("/instances/prod-bot/archive/555/").status_code == 404
    assert viewer_client.get("/instances/other-bot/archive/555/").status_code == 404
    assert outsider_client.get(URL).status_code == 404  # the outsider owns other-bot, not prod-bot
    assert outsider_client.get("/instances/other-bot/archive/555/").status_code == 200


def test_an_anonymous_user_is_sent_to_sign_in(dialog):
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_shows_every_detail_of_a_message(dialog, viewer_client):
    make_messages(dialog, [1])
    make_messages(
        dialog,
        [2],
        reply_to_id=1,
        forward_from="Daily News",
        views=1234,
        grouped_id=987654321,
        media_kind="document",
        media_file_name="report.pdf",
        media_size=1536,
        media_mime="application/pdf",
        topic_id=3,
    )
    html = viewer_client.get(URL).content.decode()
    row = html[html.index('id="m2"') : html.index('id="m1"')]
    assert "Sender 2" in row and "2024-03-01 12:02:00" in row
    assert 'href="?before=2#m1">↩ 1</a>' in row
    assert "forwarded from <em>Daily News</em>" in row and "1234 views" in row and ">album<" in row
    assert "topic 3" in row
    assert '<span class="badge media">document · report.pdf · 1.5\xa0KB · application/pdf</span>' in row


def test_service_messages_are_grey_and_name_their_action(dialog, viewer_client):
    make_messages(dialog, [1], is_service=True, action_type="MessageActionChatAddUser", sender_name="")
    make_messages(dialog, [2])
    html = viewer_client.get(URL).content.decode()
    assert '<li class="msg service" id="m1">' in html and "service: MessageActionChatAddUser" in html
    assert '<li class="msg" id="m2">' in html
    assert '<link rel="stylesheet" href="/static/sessions_app/app.css">' in html  # no inline style (CSP)
    stylesheet = Path(__file__).resolve().parents[2] / "sessions_app" / "static" / "sessions_app" / "app.css"
    assert ".msg.service { color: var(--muted)" in stylesheet.read_text(encoding="utf-8")


def test_text_is_escaped_and_keeps_its_line_breaks(dialog, viewer_client):
    make_messages(
        dialog, [1], text="<script>alert(1)</script>\nsecond line", sender_name="<img src=x onerror=alert(2)>"
    )
    html = viewer_client.get(URL).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>second line" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_the_query_count_does_not_grow_with_the_page(instance, viewer_client, django_assert_max_num_queries):
    small = make_dialog(instance, 1, "Small")
    make_messages(small, range(1, 4), reply_to_id=1, media_kind="photo")
    big = make_dialog(instance, 2, "Big")
    make_messages(big, range(1, 200), reply_to_id=1, media_kind="photo", grouped_id=5)
    counts = {}
    for name, url in {
        "small": "/instances/prod-bot/archive/1/?before=100",
        "big": "/instances/prod-bot/archive/2/?before=150",
    }.items():
        with CaptureQueriesContext(connection) as queries:
            assert viewer_client.get(url).status_code == 200
        counts[name] = len(queries)
        assert not any("OFFSET" in query["sql"].upper() for query in queries.captured_queries)
    assert counts["small"] == counts["big"]
    with django_assert_max_num_queries(8):  # session, user, the two-step check's device, then the page's 5
        viewer_client.get("/instances/prod-bot/archive/2/?before=150")


def test_a_supergroup_page_costs_the_queries_of_a_chat_page(instance, viewer_client):
    # Whether a supergroup was upgraded from a basic group is read with the dialog, not by a query of its own.
    chat = make_dialog(instance, 1, "Chat")
    supergroup = make_dialog(instance, -1003, "Supergroup", kind="supergroup")
    upgraded = make_dialog(instance, -1004, "Upgraded", kind="supergroup")
    old = make_dialog(instance, -4, "Old group", kind="group", migrated_to=upgraded)
    for dialog in (chat, supergroup, upgraded, old):
        make_messages(dialog, range(1, 120))
    counts = {}
    for dialog in (chat, supergroup, upgraded):
        with CaptureQueriesContext(connection) as queries:
            response = viewer_client.get(f"/instances/prod-bot/archive/{dialog.peer_id}/?before=60")
        assert response.status_code == 200
        counts[dialog.title] = len(queries)
    assert counts["Chat"] == counts["Supergroup"] == counts["Upgraded"], counts
    assert "and 119 from the basic group it was upgraded from" in response.content.decode()


def test_a_sender_without_a_name_shows_its_id_and_without_either_unknown_sender(dialog, viewer_client):
    make_messages(dialog, [1], sender_name="", sender_id=4242, views=1)
    make_messages(dialog, [2], sender_name="", sender_id=None, views=0)
    html = viewer_client.get(URL).content.decode()
    first, second = html[html.index('id="m1"') :], html[html.index('id="m2"') : html.index('id="m1"')]
    assert "<strong>4242</strong>" in first and "· 1 view\n" in first
    assert "<strong>unknown sender</strong>" in second and "· 0 views\n" in second


@override_settings(TIME_ZONE="Asia/Kolkata")
def test_dates_show_in_the_configured_time_zone(dialog, viewer_client):
    make_messages(dialog, [1], edit_date=BASE_DATE + timedelta(hours=2))
    html = viewer_client.get(URL).content.decode()
    assert '<time datetime="2024-03-01T17:31:00+05:30">2024-03-01 17:31:00</time>' in html
    assert '<span title="2024-03-01 19:30:00">edited</span>' in html


def test_a_reply_in_the_old_basic_group_links_to_that_groups_message(instance, viewer_client):
    supergroup = make_dialog(instance, -1005, "Supergroup", kind="supergroup")
    old = make_dialog(instance, -5, "Old group", kind="group", migrated_to=supergroup)
    make_messages(old, [7])
    make_messages(old, [8], reply_to_id=7)
    make_messages(supergroup, [1])
    html = viewer_client.get("/instances/prod-bot/archive/-1005/").content.decode()
    assert f'<a class="reply" href="?before={8 - 2**40}#m-5-7">↩ 7</a>' in html
    assert 'id="m-5-8"' in html and "before the upgrade</span>" in html
