"""What search_messages() promises, on whichever database the session runs (SQLite or PostgreSQL)."""

from __future__ import annotations

import html
import re

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString

from sessions_app import search
from sessions_app.models import Message
from sessions_app.search import MAX_QUERY_LENGTH, SearchQueryInvalid, search_messages, search_page
from tests.search.support import index_matches, texts, upsert

FILLER = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
    "quebec romeo sierra tango uniform victor whiskey xray yankee zulu one two three four five six seven"
)


class TestSearchContract:
    # --- matching -------------------------------------------------------------------------------

    def test_it_finds_a_message_by_a_word_of_its_text(self, archive, account):
        archive.message(account, "The quarterly budget is ready")
        archive.message(account, "Lunch at noon?")

        assert texts(search_messages(instance=account, query="budget")) == ["The quarterly budget is ready"]

    def test_it_finds_a_message_by_its_sender_name(self, archive, account):
        archive.message(account, "see you there", sender_name="Genevieve Okafor")

        assert texts(search_messages(instance=account, query="okafor")) == ["see you there"]

    def test_it_finds_nothing_when_no_message_has_the_word(self, archive, account):
        archive.message(account, "The quarterly budget is ready")

        assert search_messages(instance=account, query="invoice") == []

    def test_it_ignores_case(self, archive, account):
        archive.message(account, "Meet the NASA team")

        assert texts(search_messages(instance=account, query="nasa TEAM")) == ["Meet the NASA team"]

    def test_it_requires_every_word(self, archive, account):
        archive.message(account, "red apples")
        archive.message(account, "green apples")

        assert texts(search_messages(instance=account, query="green apples")) == ["green apples"]

    def test_it_matches_the_last_word_as_a_prefix(self, archive, account):
        archive.message(account, "meeting moved to friday")

        assert texts(search_messages(instance=account, query="meet")) == ["meeting moved to friday"]
        assert texts(search_messages(instance=account, query="moved fri")) == ["meeting moved to friday"]

    def test_it_matches_a_prefix_only_when_whole_words_find_fewer_than_the_limit(self, archive, account):
        archive.message(account, "meeting moved to friday")
        archive.message(account, "meet me there")

        assert texts(search_messages(instance=account, query="meet", limit=1)) == ["meet me there"]
        assert sorted(texts(search_messages(instance=account, query="meet", limit=2))) == [
            "meet me there",
            "meeting moved to friday",
        ]

    def test_it_matches_only_the_last_word_as_a_prefix_and_only_from_three_characters(self, archive, account):
        archive.message(account, "meeting moved to friday")

        assert search_messages(instance=account, query="meet friday") == []
        assert search_messages(instance=account, query="me") == []

    def test_it_finds_an_accented_word_by_the_same_accented_word(self, archive, account):
        archive.message(account, "Rendez-vous au café, Zoë")
        archive.message(account, "Встреча в кафе завтра")

        assert texts(search_messages(instance=account, query="café")) == ["Rendez-vous au café, Zoë"]
        assert texts(search_messages(instance=account, query="zoë")) == ["Rendez-vous au café, Zoë"]
        assert texts(search_messages(instance=account, query="кафе")) == ["Встреча в кафе завтра"]

    def test_it_finds_a_word_next_to_emoji_and_punctuation(self, archive, account):
        archive.message(account, "🎉party🎉 tonight!!! (bring snacks)")

        assert texts(search_messages(instance=account, query="party snacks")) == ["🎉party🎉 tonight!!! (bring snacks)"]

    # --- ranking and limit ----------------------------------------------------------------------

    def test_it_ranks_a_short_message_with_the_word_twice_above_a_long_one_with_it_once(self, archive, account):
        archive.message(account, "budget, budget")  # the older: ties go to the newer message
        archive.message(account, f"{FILLER} budget {FILLER}")

        hits = search_messages(instance=account, query="budget")

        assert texts(hits) == ["budget, budget", f"{FILLER} budget {FILLER}"]
        assert hits[0].rank > hits[1].rank

    def test_it_returns_the_best_hits_first_up_to_the_limit(self, archive, account):
        for repeats in (1, 3, 2, 4):
            archive.message(account, " ".join(["budget"] * repeats + ["note"] * 8))

        hits = search_messages(instance=account, query="budget", limit=2)

        assert [hit.message.text.count("budget") for hit in hits] == [4, 3]
        assert all(isinstance(hit.rank, float) for hit in hits)

    def test_it_ranks_within_the_most_recently_archived_matches_when_there_are_more(
        self, archive, account, monkeypatch
    ):
        best = archive.message(account, "budget budget budget")
        newer = [archive.message(account, f"budget {FILLER}") for _ in range(3)]

        assert texts(search_messages(instance=account, query="budget", limit=1)) == [best.text]
        monkeypatch.setattr(search, "RANK_WINDOW", 3)
        hits = search_messages(instance=account, query="budget", limit=10)
        # The window (the 3 newest) ranked, equal ranks newest first; the best, older, comes after it.
        assert [hit.message for hit in hits] == [*reversed(newer), best]
        assert texts(search_messages(instance=account, query="budget", limit=1)) == [newer[-1].text]

    def test_it_refuses_a_limit_below_one(self, archive, account):
        with pytest.raises(ValueError, match="limit"):
            search_messages(instance=account, query="budget", limit=0)

    # --- scope ----------------------------------------------------------------------------------

    def test_it_searches_only_the_given_instance(self, archive, account):
        other = archive.instance("search-b")
        archive.message(account, "walrus sighting, ours", message_id=1)
        archive.message(other, "walrus sighting, theirs", message_id=1)

        assert texts(search_messages(instance=account, query="walrus")) == ["walrus sighting, ours"]
        assert texts(search_messages(instance=other, query="walrus")) == ["walrus sighting, theirs"]

    def test_it_filters_to_one_dialog_by_peer_id(self, archive, account):
        archive.message(account, "walrus in chat one", peer_id=1)
        archive.message(account, "walrus in channel two", peer_id=-1002)

        assert texts(search_messages(instance=account, query="walrus", peer_id=-1002)) == ["walrus in channel two"]
        assert len(search_messages(instance=account, query="walrus")) == 2
        assert search_messages(instance=account, query="walrus", peer_id=99) == []

    def test_a_conversation_the_caller_knows_replaces_the_lookup_of_its_peers(
        self, archive, account, django_assert_num_queries
    ):
        archive.message(account, "walrus in chat one", peer_id=1)
        archive.message(account, "walrus in channel two", peer_id=-1002)
        with django_assert_num_queries(2):  # the search and its messages: no lookup of the peers
            hits = search_page(instance=account, query="walrus", peer_id=1, conversation=[1, -1002], limit=2).hits
        assert sorted(hit.message.peer_id for hit in hits) == [-1002, 1]
        with pytest.raises(ValueError, match="does not hold the dialog 1"):
            search_page(instance=account, query="walrus", peer_id=1, conversation=[-1002])

    def test_the_peer_filter_does_not_reach_into_another_instance(self, archive, account):
        other = archive.instance("search-b")
        archive.message(other, "walrus elsewhere", peer_id=5)

        assert search_messages(instance=account, query="walrus", peer_id=5) == []

    def test_hits_carry_the_message_with_its_dialog_loaded(self, archive, account, django_assert_num_queries):
        message = archive.message(account, "walrus", peer_id=7)

        [hit] = search_messages(instance=account, query="walrus")

        with django_assert_num_queries(0):
            assert hit.message == message
            assert hit.message.dialog.title == "Chat 7"

    # --- snippets -------------------------------------------------------------------------------

    def test_the_snippet_marks_the_matched_words(self, archive, account):
        archive.message(account, "The quarterly Budget review is on Friday")

        [hit] = search_messages(instance=account, query="budget friday")

        assert hit.snippet == "The quarterly <mark>Budget</mark> review is on <mark>Friday</mark>"

    def test_the_snippet_marks_a_prefix_match_whole_word(self, archive, account):
        archive.message(account, "meeting moved")

        [hit] = search_messages(instance=account, query="meet")

        assert hit.snippet == "<mark>meeting</mark> moved"

    def test_the_snippet_escapes_html_in_the_message(self, archive, account):
        text = '<script>alert("budget")</script> & <b>budget</b> <img src=x onerror=alert(1)>'
        archive.message(account, text)

        [hit] = search_messages(instance=account, query="budget")

        assert isinstance(hit.snippet, SafeString)
        assert set(re.findall(r"<[^>]*>", hit.snippet)) == {"<mark>", "</mark>"}
        assert "&lt;/script&gt; &amp; &lt;b&gt;<mark>budget</mark>&lt;/b&gt; &lt;img" in hit.snippet
        # Escaped, not stripped: unescaped, the snippet is a piece of the message, character for character.
        assert html.unescape(re.sub("</?mark>", "", hit.snippet)).strip("…") in text

    def test_the_snippet_cannot_be_spoofed_with_mark_tags_in_the_message(self, archive, account):
        archive.message(account, "<mark>fake</mark> budget")

        [hit] = search_messages(instance=account, query="budget")

        assert hit.snippet.count("<mark>") == 1
        assert "&lt;mark&gt;fake&lt;/mark&gt;" in hit.snippet

    def test_the_marker_characters_in_a_message_mark_nothing(self, archive, account):
        archive.message(account, "\ufdd1\ufdd0 budget <b>bold\ufdd0 \ufdd1\ufdd1 end")

        [hit] = search_messages(instance=account, query="budget")

        assert hit.snippet == "<mark>budget</mark> &lt;b&gt;bold  end"

    def test_the_snippet_renders_in_a_template_as_is(self, archive, account):
        archive.message(account, "1 < 2 budget")

        [hit] = search_messages(instance=account, query="budget")

        assert Template("{{ hit.snippet }}").render(Context({"hit": hit})) == "1 &lt; 2 <mark>budget</mark>"

    def test_the_snippet_of_a_long_message_is_thirty_words_around_the_match(self, archive, account):
        archive.message(account, f"{FILLER} {FILLER} budget {FILLER} {FILLER}")
        words = f"{FILLER} {FILLER}".split()

        [hit] = search_messages(instance=account, query="budget")

        before, after = " ".join(words[-8:]), " ".join(words[:21])
        assert hit.snippet == f"…{before} <mark>budget</mark> {after}…"

    def test_the_snippet_shows_the_part_with_the_most_matched_words(self, archive, account):
        archive.message(account, f"budget {FILLER} {FILLER} the budget review went well")

        [hit] = search_messages(instance=account, query="review budget")

        assert hit.snippet.endswith("the <mark>budget</mark> <mark>review</mark> went well")
        assert hit.snippet.startswith("…") and hit.snippet.count("<mark>") == 2

    def test_the_snippet_keeps_a_short_message_whole(self, archive, account):
        archive.message(account, "a budget\nwith two lines")

        [hit] = search_messages(instance=account, query="budget")

        assert hit.snippet == "a <mark>budget</mark>\nwith two lines"

    def test_the_snippet_of_a_message_found_by_its_sender_shows_the_text(self, archive, account):
        archive.message(account, "see you there", sender_name="Genevieve Okafor")

        [hit] = search_messages(instance=account, query="okafor")

        assert hit.snippet == "see you there"

    # --- hostile and invalid queries ------------------------------------------------------------

    @pytest.mark.parametrize(
        ("query", "finds_it"),
        [
            ('"budget', True),
            ('budget"', True),
            ('"budget near"', True),
            ("budget*", True),
            ("*budget", True),
            ("^budget", True),
            ("NEAR(budget", True),
            ("NEAR(budget done, 10)", True),
            ("NEAR(", True),
            ("budget OR", True),
            ("budget NOT", True),
            ("budget AND", False),  # AND is a word to find, not an operator, and the message lacks it
            ("-budget", True),
            ("budget -done", True),
            ("x-ray", True),
            ("text:budget", False),  # not a column filter: "text" is a word the message lacks
            ("sender_name:budget", False),
            ("budget:", True),
            ("10:30", True),
            ("'budget'", True),
            ("it's", True),
            ("100%", True),
            ("budget%", True),
            ("(budget)", True),
            ("budget & !done | <-> :*", True),
            ("budget\\", True),
            ("{budget}", True),
            ("budget'; DROP TABLE sessions_app_message; --", False),
            ("budget\x00", True),
            ("\ud800budget", True),
            ("budget 🎉", True),
            ("BUDGET", True),
            ("ｂｕｄｇｅｔ", False),  # full-width letters are other characters to both engines
        ],
    )
    def test_hostile_queries_are_searched_as_plain_words(self, archive, account, query, finds_it):
        archive.message(account, "The budget is near done or not: x-ray at 10:30 (10 sec), it's 100% sure")

        hits = search_messages(instance=account, query=query)

        assert len(hits) == (1 if finds_it else 0)
        assert Message.objects.count() == 1

    @pytest.mark.parametrize("query", ["", "   ", '"', "*", ":", "'", "%", "()", "-", "_", "🎉🎉", "\x00", "(", "\\"])
    def test_a_query_without_words_is_refused_with_a_sentence_for_the_page(self, archive, account, query):
        archive.message(account, "budget")

        with pytest.raises(SearchQueryInvalid) as refused:
            search_messages(instance=account, query=query)

        assert "Type at least one word or number" in refused.value.message
        assert isinstance(refused.value, ValueError)

    def test_a_query_over_200_characters_is_refused(self, archive, account):
        with pytest.raises(SearchQueryInvalid) as refused:
            search_messages(instance=account, query="budget " * 43)

        assert "at most 200" in refused.value.message
        assert MAX_QUERY_LENGTH == 200

    def test_a_query_of_exactly_200_characters_is_searched(self, archive, account):
        archive.message(account, "budget")
        query = ("budget " + "x" * 193)[:200]

        assert len(query) == 200
        assert search_messages(instance=account, query=query) == []
        assert len(search_messages(instance=account, query=("x " * 96) + "budget")) == 0
        assert len(search_messages(instance=account, query=(" " * 194) + "budget")) == 1

    # --- keeping the index right ----------------------------------------------------------------

    def test_an_upsert_that_edits_the_text_reindexes_the_message(self, archive, account):
        message = archive.message(account, "let us buy mangoes", message_id=42)

        upsert(message, text="let us buy kiwis")

        assert Message.objects.get().text == "let us buy kiwis"
        assert search_messages(instance=account, query="mangoes") == []
        assert texts(search_messages(instance=account, query="kiwis")) == ["let us buy kiwis"]
        assert len(search_messages(instance=account, query="buy")) == 1

    def test_an_upsert_that_edits_the_sender_name_reindexes_the_message(self, archive, account):
        message = archive.message(account, "hello", sender_name="Old Name")

        upsert(message, sender_name="Fresh Handle")

        assert search_messages(instance=account, query="old") == []
        assert texts(search_messages(instance=account, query="fresh")) == ["hello"]

    def test_an_upsert_with_unchanged_text_keeps_the_message_findable(self, archive, account):
        message = archive.message(account, "let us buy mangoes")

        upsert(message)
        upsert(message)

        assert len(search_messages(instance=account, query="mangoes")) == 1

    def test_an_orm_update_reindexes_the_message(self, archive, account):
        archive.message(account, "let us buy mangoes")

        Message.objects.update(text="let us buy papayas")

        assert search_messages(instance=account, query="mangoes") == []
        assert len(search_messages(instance=account, query="papayas")) == 1

    def test_a_deleted_message_is_no_longer_found(self, archive, account):
        archive.message(account, "walrus one").delete()
        archive.message(account, "walrus two")

        assert texts(search_messages(instance=account, query="walrus")) == ["walrus two"]

    def test_deleting_an_instance_leaves_no_ghost_hits(self, archive, account):
        other = archive.instance("search-b")
        for n in range(3):
            archive.message(account, f"walrus {n}")
        archive.message(other, "walrus survivor")

        account.delete()

        assert Message.objects.count() == 1
        assert texts(search_messages(instance=other, query="walrus")) == ["walrus survivor"]
        assert index_matches("walrus") == 1
