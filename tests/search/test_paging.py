"""Paging past the first results (search_page and its `next` cursor), on whichever database the session runs."""

from __future__ import annotations

import pytest

from sessions_app import search
from sessions_app.models import Message
from sessions_app.search import SearchQueryInvalid, search_page
from sessions_app.search.paging import BROKEN_CURSOR, SearchCursor, Window, cursor_scope, cursor_signer, decode_cursor
from sessions_app.search.query import parse_query
from tests.search.support import walk_pages

WORDS = ["budget", "note", "plan", "filler", "memo"]


def mixed_archive(archive, account, count: int) -> list[Message]:
    """`count` messages holding "budget" with varied ranks (and ties), among messages without it."""
    matches = []
    for n in range(count):
        repeats = 1 + (n * 7) % 4  # 1 to 4 times: many equal ranks, in no id order
        filler = " ".join(WORDS[1 + (n + k) % 4] for k in range(n % 5))
        matches.append(archive.message(account, " ".join(["budget"] * repeats) + " " + filler))
        if n % 3 == 0:
            archive.message(account, f"nothing to see {n}")
    return matches


def ids(pages) -> list[int]:
    return [hit.message.pk for page in pages for hit in page.hits]


class TestPaging:
    @pytest.mark.parametrize("window", [1, 4, 9, 23, 5000])
    @pytest.mark.parametrize("limit", [1, 3, 5])
    def test_paging_through_every_page_visits_each_match_exactly_once(
        self, archive, account, monkeypatch, window, limit
    ):
        matches = mixed_archive(archive, account, 23)
        archive.message(archive.instance("search-b"), "budget elsewhere")
        monkeypatch.setattr(search, "RANK_WINDOW", window)

        pages = walk_pages(account, "budget", limit=limit)

        visited = ids(pages)
        assert len(visited) == len(set(visited))  # no duplicates
        assert set(visited) == {message.pk for message in matches}  # nothing missing, nothing else
        assert all(len(page.hits) == limit for page in pages[:-1]) and 1 <= len(pages[-1].hits) <= limit
        assert [page.first for page in pages] == [1 + limit * n for n in range(len(pages))]

    @pytest.mark.parametrize("limit", [2, 3])
    def test_the_ranked_window_comes_best_first_then_older_matches_newest_first(
        self, archive, account, monkeypatch, limit
    ):
        matches = mixed_archive(archive, account, 12)
        monkeypatch.setattr(search, "RANK_WINDOW", 5)

        hits = [hit for page in walk_pages(account, "budget", limit=limit) for hit in page.hits]

        window, older = hits[:5], hits[5:]
        newest_five = sorted(message.pk for message in matches)[-5:]
        assert sorted(hit.message.pk for hit in window) == newest_five
        assert [(hit.rank, hit.message.pk) for hit in window] == sorted(
            ((hit.rank, hit.message.pk) for hit in window), reverse=True
        )
        assert [hit.message.pk for hit in older] == sorted((hit.message.pk for hit in older), reverse=True)
        assert max(hit.message.pk for hit in older) < min(newest_five)

    def test_pages_split_equal_ranks_by_id_without_repeating_or_skipping(self, archive, account):
        same = [archive.message(account, "budget review") for _ in range(7)]

        pages = walk_pages(account, "budget", limit=2)

        assert len({hit.rank for page in pages for hit in page.hits}) == 1
        assert ids(pages) == sorted((message.pk for message in same), reverse=True)

    def test_the_last_page_has_no_next_even_when_it_is_full(self, archive, account):
        for _ in range(4):
            archive.message(account, "budget")

        first = search_page(instance=account, query="budget", limit=2)
        second = search_page(instance=account, query="budget", limit=2, after=first.next)

        assert first.next and len(second.hits) == 2 and second.next == ""
        assert search_page(instance=account, query="budget", limit=4).next == ""
        assert search_page(instance=account, query="absent", limit=4).next == ""

    def test_paging_keeps_to_the_dialog_filter(self, archive, account):
        ours = [archive.message(account, f"budget {n}", peer_id=7) for n in range(5)]
        for n in range(5):
            archive.message(account, f"budget {n}", peer_id=8)

        pages = walk_pages(account, "budget", limit=2, peer_id=7)

        assert sorted(ids(pages)) == sorted(message.pk for message in ours)

    def test_later_pages_keep_the_prefix_match_the_first_page_chose(self, archive, account):
        exact = archive.message(account, "meet me there")
        longer = [archive.message(account, f"meeting number {n}") for n in range(4)]

        pages = walk_pages(account, "meet", limit=2)

        assert set(ids(pages)) == {exact.pk, *(message.pk for message in longer)} and len(ids(pages)) == 5

    def test_later_pages_keep_whole_words_when_they_filled_the_first_page(self, archive, account):
        exact = [archive.message(account, f"meet {n}") for n in range(3)]
        archive.message(account, "meeting")

        pages = walk_pages(account, "meet", limit=2)

        assert sorted(ids(pages)) == sorted(message.pk for message in exact)

    def test_messages_archived_between_pages_do_not_shift_the_pages(self, archive, account, monkeypatch):
        monkeypatch.setattr(search, "RANK_WINDOW", 4)
        before = mixed_archive(archive, account, 9)
        first = search_page(instance=account, query="budget", limit=3)

        # Newest, and ranked last: without the first page's window it would turn up on a later page.
        archive.message(account, "budget " + " ".join(["filler"] * 40))
        rest = [first]
        while rest[-1].next:
            rest.append(search_page(instance=account, query="budget", limit=3, after=rest[-1].next))

        assert sorted(ids(rest)) == sorted(message.pk for message in before)

    def test_a_page_past_the_window_carries_no_rank_in_its_cursor(self, archive, account, monkeypatch):
        monkeypatch.setattr(search, "RANK_WINDOW", 2)
        for _ in range(6):
            archive.message(account, "budget")

        pages = walk_pages(account, "budget", limit=2)

        scope = scope_of(account, "budget")
        cursors = [decode_cursor(page.next, scope=scope) for page in pages[:-1]]
        assert [cursor.rank is None for cursor in cursors] == [False, True]
        assert cursors[0].window == cursors[1].window and cursors[0].window.floor > 0

    @pytest.mark.parametrize(
        "after",
        [
            "x",
            "w0_0_1_2",
            "w0_0_1_2_nan",
            "w0_0_1_2_inf",
            "w0_0_1_2_1e999",
            "w0_0_1_99999999999999999999_1.0",
            "w0_0_1_9223372036854775808_",
            "q0_0_1_2_1.0",
            "w0_0_1_2_1.0 ",
            "w-1_0_1_2_1.0",
            "w0_0_1_2_1.0.0",
        ],
    )
    @pytest.mark.parametrize("signed", [False, True])
    def test_a_broken_cursor_is_refused_with_a_sentence(self, archive, account, after, signed):
        archive.message(account, "budget")
        if signed:
            after = cursor_signer(scope_of(account, "budget")).sign(after)

        with pytest.raises(SearchQueryInvalid) as refused:
            search_page(instance=account, query="budget", after=after)

        assert refused.value.message == BROKEN_CURSOR

    def test_a_made_up_cursor_is_refused(self, archive, account):
        # Unsigned, it would rank every match (the widest window) and match "bud" as a prefix.
        archive.message(account, "budget")
        made_up = SearchCursor(prefix=True, seen=0, window=Window(floor=0, ceiling=2**63 - 1), rank=9e9, id=2**62)

        with pytest.raises(SearchQueryInvalid) as refused:
            search_page(instance=account, query="bud", after=made_up.encode(scope="forged"))

        assert refused.value.message == BROKEN_CURSOR

    @pytest.mark.parametrize(
        ("query", "other"),
        [
            ("budget", {"query": "budget memo"}),
            ("budget", {"peer_id": 7}),
            ("budget", {"instance": "search-b"}),
        ],
    )
    def test_a_cursor_continues_only_the_search_it_came_from(self, archive, account, query, other):
        second = archive.instance("search-b")
        for _ in range(3):
            archive.message(account, "budget memo")
            archive.message(second, "budget memo")
        first = search_page(instance=account, query=query, limit=1)
        assert first.next and search_page(instance=account, query=query, limit=1, after=first.next).hits

        elsewhere = second if other.pop("instance", None) else account
        with pytest.raises(SearchQueryInvalid) as refused:
            search_page(instance=elsewhere, query=other.pop("query", query), limit=1, after=first.next, **other)

        assert refused.value.message == BROKEN_CURSOR

    @pytest.mark.parametrize("rank", [None, 0.0, 1.9395465994962215e-06, -3.5, 123456.789])
    def test_a_cursor_reads_back_exactly_what_it_wrote(self, rank):
        cursor = SearchCursor(prefix=True, seen=50, window=Window(floor=7, ceiling=2**63 - 1), rank=rank, id=42)

        assert decode_cursor(cursor.encode(scope="1:None:budget"), scope="1:None:budget") == cursor


def scope_of(account, query: str) -> str:
    return cursor_scope(instance_id=account.pk, peer_id=None, terms=parse_query(query))
