"""The search page (paging links, media lines) and the per-dialog export's file name, through the views."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from sessions_app.export import dialog_download_disposition
from sessions_app.models import AuditEvent
from sessions_app.search.paging import BROKEN_CURSOR
from tests.archive_ui.conftest import make_dialog, make_messages
from tests.conftest import client_for

URL = "/instances/prod-bot/archive/search/"
EXPORT_URL = "/instances/prod-bot/archive/export/"
_RESULT_LINK = re.compile(r'href="/instances/prod-bot/archive/(-?\d+)/\?before=\d+#m(\d+)"')
_NEXT_LINK = re.compile(r'<a href="(\?[^"]+)" rel="next">')


@pytest.fixture
def viewer_client(viewer):
    return client_for(viewer)


def results(page_html: str) -> list[tuple[int, int]]:
    """(peer id, message id) of each result linked on a search page."""
    return [(int(peer), int(message)) for peer, message in _RESULT_LINK.findall(page_html)]


def next_link(page_html: str) -> str | None:
    found = _NEXT_LINK.search(page_html)
    return html_lib.unescape(found.group(1)) if found else None


class TestSearchPages:
    def test_next_links_visit_every_result_once_and_the_last_page_has_none(self, instance, viewer_client):
        dialog = make_dialog(instance, -100200, "Ops room")
        make_messages(dialog, range(1, 121), text="deploy notes")
        make_messages(dialog, range(121, 140), text="lunch")

        pages = [viewer_client.get(URL, {"q": "deploy"}).content.decode()]
        while (link := next_link(pages[-1])) is not None:
            assert len(pages) < 10
            response = viewer_client.get(URL + link)
            assert response.status_code == 200
            pages.append(response.content.decode())

        found = [result for page in pages for result in results(page)]
        assert sorted(found) == [(-100200, n) for n in range(1, 121)]
        assert [len(results(page)) for page in pages] == [50, 50, 20]
        assert "Results 1–50" in pages[0] and "Results 51–100" in pages[1] and "Results 101–120" in pages[2]
        assert "Next 50" in pages[0] and "Next 50" not in pages[2]
        assert "« Best results" not in pages[0] and 'href="?q=deploy">« Best results</a>' in pages[1]

    def test_the_next_link_keeps_the_query_and_the_dialog_filter(self, instance, viewer_client):
        make_messages(make_dialog(instance, 1, "First"), range(1, 61), text='plan "A" & B')
        make_messages(make_dialog(instance, 2, "Second"), range(1, 61), text='plan "A" & B')

        first = viewer_client.get(URL, {"q": 'plan "a" &', "peer": "2"}).content.decode()
        link = next_link(first)

        assert link is not None
        params = parse_qs(urlsplit(link).query)
        assert params["q"] == ['plan "a" &'] and params["peer"] == ["2"] and params["after"]
        second = viewer_client.get(URL + link).content.decode()
        assert {peer for peer, _ in results(first) + results(second)} == {2}
        assert len(set(results(first) + results(second))) == 60
        assert 'href="?q=plan%20%22a%22%20%26&amp;peer=2">« Best results</a>' in second

    def test_a_page_that_fits_all_results_has_no_paging(self, instance, viewer_client):
        make_messages(make_dialog(instance, 1, "First"), range(1, 51), text="budget")

        page = viewer_client.get(URL, {"q": "budget"}).content.decode()

        assert "50 results" in page and next_link(page) is None and "Best results" not in page

    def test_a_broken_page_link_is_a_400_with_a_sentence(self, instance, viewer_client):
        make_messages(make_dialog(instance, 1, "First"), [1], text="budget")

        response = viewer_client.get(URL, {"q": "budget", "after": "w50_0_9_x_1.0"})

        assert response.status_code == 400
        assert html_lib.escape(BROKEN_CURSOR) in response.content.decode()

    def test_every_page_is_audited_as_a_search_without_the_query_or_the_cursor(self, instance, viewer_client):
        make_messages(make_dialog(instance, 1, "First"), range(1, 61), text="secretword")
        first = viewer_client.get(URL, {"q": "secretword"}).content.decode()
        link = next_link(first)
        assert link is not None
        viewer_client.get(URL + link)

        events = list(AuditEvent.objects.filter(action="archive.search").order_by("pk"))

        assert [event.detail["results"] for event in events] == [50, 10]
        assert all("secretword" not in str(event.detail) and "after" not in event.detail for event in events)

    def test_a_media_only_message_shows_its_kind_and_file_name_found_by_a_word_of_it(self, instance, viewer_client):
        dialog = make_dialog(instance, 5, "Finance")
        make_messages(dialog, [7], text="", media_kind="document", media_file_name="quarterly_report-2024.pdf")

        page = viewer_client.get(URL, {"q": "report"}).content.decode()

        assert results(page) == [(5, 7)]
        assert '<span class="media-line">[document] quarterly_<mark>report</mark>-2024.pdf</span>' in page
        assert "Finance" in page and "Sender 1" in page and "2024-03-01 12:07" in page

    def test_a_captioned_file_shows_the_caption_and_the_file_line(self, instance, viewer_client):
        dialog = make_dialog(instance, 5, "Finance")
        make_messages(dialog, [7], text="the budget, attached", media_kind="document", media_file_name="budget.xlsx")

        page = viewer_client.get(URL, {"q": "budget"}).content.decode()

        assert "the <mark>budget</mark>, attached</a>" in page
        assert '<span class="media-line muted">[document] <mark>budget</mark>.xlsx</span>' in page

    def test_a_file_name_is_escaped_on_the_page(self, instance, viewer_client):
        dialog = make_dialog(instance, 5, "Finance")
        make_messages(dialog, [7], text="", media_kind="document", media_file_name="<script>x</script>budget.pdf")

        page = viewer_client.get(URL, {"q": "budget"}).content.decode()

        assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;<mark>budget</mark>.pdf" in page


class TestDialogExportName:
    def test_a_dialog_export_is_named_after_the_dialog_and_the_day(self, instance, operator_client):
        make_messages(make_dialog(instance, -4242, "Alpha Team Chat"), [1])

        before = timezone.localdate()
        response = operator_client.get(EXPORT_URL, {"format": "csv", "peer": "-4242"})
        after = timezone.localdate()

        assert response.status_code == 200
        assert response["Content-Disposition"] in {
            f'attachment; filename="alpha-team-chat-{day.isoformat()}.csv"' for day in (before, after)
        }

    def test_a_dialog_with_a_non_ascii_title_gets_an_ascii_name_and_an_rfc_6266_utf8_name(
        self, instance, operator_client
    ):
        make_messages(make_dialog(instance, 77, 'Ünïcödé / weird "name"'), [1])

        before = timezone.localdate()
        response = operator_client.get(EXPORT_URL, {"format": "jsonl", "peer": "77"})
        after = timezone.localdate()

        assert response["Content-Disposition"] in {
            f'attachment; filename="unicode-weird-name-{day}.jsonl"; '
            f"filename*=utf-8''%C3%BCn%C3%AFc%C3%B6d%C3%A9-weird-name-{day}.jsonl"
            for day in (before.isoformat(), after.isoformat())
        }

    def test_the_whole_archive_export_keeps_its_name(self, instance, operator_client):
        make_messages(make_dialog(instance, 77, "Alpha"), [1])

        response = operator_client.get(EXPORT_URL, {"format": "csv"})

        assert response["Content-Disposition"] == 'attachment; filename="prod-bot-archive.csv"'

    @pytest.mark.parametrize(
        ("title", "expected"),
        [
            ("Alpha Team Chat", 'attachment; filename="alpha-team-chat-2026-12-01.csv"'),
            ('a"b\\c;d\r\ne', 'attachment; filename="abcd-e-2026-12-01.csv"'),
            ("../../etc/passwd", 'attachment; filename="etcpasswd-2026-12-01.csv"'),
            ("🎉🎉", 'attachment; filename="dialog--100123-2026-12-01.csv"'),
            ("", 'attachment; filename="dialog--100123-2026-12-01.csv"'),
            (
                "日本語 チャット",
                "attachment; filename=\"dialog--100123-2026-12-01.csv\"; filename*=utf-8''"
                "%E6%97%A5%E6%9C%AC%E8%AA%9E-%E3%83%81%E3%83%A3%E3%83%83%E3%83%88-2026-12-01.csv",
            ),
            ("x" * 300, f'attachment; filename="{"x" * 80}-2026-12-01.csv"'),
        ],
    )
    def test_a_title_becomes_a_safe_file_name(self, title, expected):
        disposition = dialog_download_disposition(
            title=title, peer_id=-100123, export_format="csv", day=date(2026, 12, 1)
        )

        assert disposition == expected
        assert "\r" not in disposition and "\n" not in disposition and "/" not in disposition
