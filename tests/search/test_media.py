"""Media in search results: found by file name, shown as "[kind] file name", on whichever database the session runs."""

from __future__ import annotations

import pytest

from sessions_app.models import Message
from sessions_app.search import search_messages
from tests.search.support import index_matches, upsert


def media(archive, account, file_name: str, *, kind: str = "document", text: str = "", **fields) -> Message:
    return archive.message(account, text, media_kind=kind, media_file_name=file_name, **fields)


class TestMediaSearch:
    def test_a_media_only_message_is_found_by_its_file_name_and_shown_with_its_kind(self, archive, account):
        message = media(archive, account, "report.pdf")
        archive.message(account, "a report without a file")

        [hit] = search_messages(instance=account, query="pdf")

        assert hit.message == message
        assert hit.snippet == ""
        assert hit.media == "[document] report.<mark>pdf</mark>"

    @pytest.mark.parametrize(
        "query",
        ["quarterly", "report", "2024", "pdf", "quarterly report", "report-2024.pdf", "QUARTERLY_REPORT", "quart"],
    )
    def test_each_word_of_a_file_name_finds_it(self, archive, account, query):
        media(archive, account, "quarterly_report-2024.pdf")

        assert len(search_messages(instance=account, query=query)) == 1

    @pytest.mark.parametrize("query", ["quarterlyreport", "report2024", "rep 2024 doc"])
    def test_a_file_name_is_not_found_by_words_it_does_not_hold(self, archive, account, query):
        media(archive, account, "quarterly_report-2024.pdf")

        assert search_messages(instance=account, query=query) == []

    def test_the_file_name_line_marks_every_matched_word(self, archive, account):
        media(archive, account, "quarterly_report-2024.pdf")

        [hit] = search_messages(instance=account, query="report 2024")

        assert hit.media == "[document] quarterly_<mark>report</mark>-<mark>2024</mark>.pdf"

    def test_the_file_name_line_marks_a_prefix_match_whole_word(self, archive, account):
        media(archive, account, "Quarterly.xlsx", kind="document")

        [hit] = search_messages(instance=account, query="quart")

        assert hit.media == "[document] <mark>Quarterly</mark>.xlsx"

    def test_a_captioned_file_shows_both_the_caption_and_the_file_line(self, archive, account):
        media(archive, account, "budget.xlsx", text="numbers for the budget")

        [hit] = search_messages(instance=account, query="budget")

        assert hit.snippet == "numbers for the <mark>budget</mark>"
        assert hit.media == "[document] <mark>budget</mark>.xlsx"

    def test_media_without_a_file_name_shows_its_kind_alone(self, archive, account):
        media(archive, account, "", kind="photo", sender_name="Genevieve")

        [hit] = search_messages(instance=account, query="genevieve")

        assert hit.media == "[photo]"

    def test_a_message_without_media_has_no_media_line(self, archive, account):
        archive.message(account, "budget")

        [hit] = search_messages(instance=account, query="budget")

        assert hit.media == ""

    def test_the_file_name_line_is_escaped(self, archive, account):
        media(archive, account, '<img src=x onerror="alert(1)">budget.pdf', kind="<b>doc</b>")

        [hit] = search_messages(instance=account, query="budget")

        assert "<img" not in hit.media and "<b>" not in hit.media
        assert hit.media == (
            "[&lt;b&gt;doc&lt;/b&gt;] &lt;img src=x onerror=&quot;alert(1)&quot;&gt;<mark>budget</mark>.pdf"
        )

    def test_an_upsert_that_renames_the_file_reindexes_the_message(self, archive, account):
        message = media(archive, account, "draft.pdf")

        upsert(message, media_file_name="final.pdf")

        assert search_messages(instance=account, query="draft") == []
        assert len(search_messages(instance=account, query="final")) == 1
        assert index_matches("pdf") == 1

    def test_a_deleted_media_message_is_no_longer_found(self, archive, account):
        media(archive, account, "gone.pdf").delete()
        media(archive, account, "kept.pdf")

        assert [hit.message.media_file_name for hit in search_messages(instance=account, query="pdf")] == ["kept.pdf"]
        assert index_matches("pdf") == 1
