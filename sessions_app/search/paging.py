"""Keyset paging through ranked search results: the order, the cursor, and what the engines return.

The order is total and the same on both engines:

1. The ranked window: the RANK_WINDOW matches with the highest message ids when the first page
   was searched, best first, by (rank descending, id descending).
2. Then every older match (id below the window), newest first, by id descending. Ranking these
   would read every match's statistics, which is what the window exists to avoid.

The first page fixes the window as an id range (`Window`), and every later page's cursor carries
it, so the two parts never overlap and later pages do not shift when an archive run adds
messages (those have higher ids: they appear from the next first page on). Paging through every
page therefore visits each match exactly once, as long as ranks do not change in between: on
SQLite bm25 depends on statistics of the whole index, so an archive run between two pages can
reorder the ranked part slightly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from django.core import signing

from sessions_app.search.query import SearchQueryInvalid, SearchTerms

BIGINT_MAX = 2**63 - 1


class Row(NamedTuple):
    """One result as an engine returns it; `marked_*` hold MARK_START/MARK_END around matched words."""

    id: int
    rank: float
    marked_text: str
    marked_file_name: str


@dataclass(frozen=True)
class Window:
    """The ranked part of the results: matches with floor <= id <= ceiling.

    `floor` is 0 when the window held every match (fewer than RANK_WINDOW): nothing lies below it.
    """

    floor: int
    ceiling: int

    def holds(self, message_id: int) -> bool:
        return self.floor <= message_id <= self.ceiling


@dataclass(frozen=True)
class SearchCursor:
    """Where the next page starts; carried in the page's `after` link as an opaque string."""

    prefix: bool  # the first page settled on matching the last word as a prefix
    seen: int  # results on the pages before the next one
    window: Window
    rank: float | None  # the last result's rank; None once paging is past the window
    id: int  # the last result's message id

    def encode(self, *, scope: str) -> str:
        """Signed for `scope` (the search it continues): decode_cursor takes it back for that search only."""
        rank = "" if self.rank is None else repr(self.rank)
        mode = "p" if self.prefix else "w"
        return cursor_signer(scope).sign(
            f"{mode}{self.seen}_{self.window.floor}_{self.window.ceiling}_{self.id}_{rank}"
        )


_CURSOR = re.compile(r"([pw])(\d{1,9})_(\d{1,19})_(\d{1,19})_(\d{1,19})_([-+.0-9eE]{0,32})")
BROKEN_CURSOR = "This results page link is broken or out of date. Search again to start from the best results."


def cursor_scope(*, instance_id: int, peer_id: int | None, terms: SearchTerms) -> str:
    """What a cursor is signed for: one instance, one dialog (or all), one set of words."""
    return f"{instance_id}:{peer_id}:{' '.join(terms.words)}"


def cursor_signer(scope: str) -> signing.Signer:
    return signing.Signer(salt=f"sessions_app.search.cursor:{scope}")


def decode_cursor(text: str, *, scope: str) -> SearchCursor:
    """The cursor an `after` link of the same `scope` carries; SearchQueryInvalid (with a sentence) when it is not one.

    Signed, because a made-up cursor could ask for what the first page chose not to do (rank
    every match, match a short word as a prefix) or continue another search's pages.
    """
    try:
        plain = cursor_signer(scope).unsign(text[:200])
    except signing.BadSignature:
        raise SearchQueryInvalid(BROKEN_CURSOR) from None
    found = _CURSOR.fullmatch(plain)
    if found is None:
        raise SearchQueryInvalid(BROKEN_CURSOR)
    mode, seen, floor, ceiling, last_id, rank_text = found.groups()
    numbers = [int(floor), int(ceiling), int(last_id)]
    if any(number > BIGINT_MAX for number in numbers):
        raise SearchQueryInvalid(BROKEN_CURSOR)
    rank: float | None = None
    if rank_text:
        try:
            rank = float(rank_text)
        except ValueError:
            raise SearchQueryInvalid(BROKEN_CURSOR) from None
        if not math.isfinite(rank):
            raise SearchQueryInvalid(BROKEN_CURSOR)
    return SearchCursor(
        prefix=mode == "p",
        seen=int(seen),
        window=Window(floor=numbers[0], ceiling=numbers[1]),
        rank=rank,
        id=numbers[2],
    )
