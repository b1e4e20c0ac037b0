"""Full-text search of the message archive: one function, an engine behind it per database vendor.

SQLite uses an FTS5 table kept in step by triggers; PostgreSQL a GIN index over a stored tsvector
column (0016_archive_postgresql; an expression index before). Both are created by migration
0003_search and index the text, the sender's name and the media file name since
0009_search_file_names. Callers see only search_page() (search_messages() for the first
page alone), SearchPage, SearchHit and SearchQueryInvalid; the engine is chosen by the vendor of
the database Message is read from. How pages follow each other: sessions_app/search/paging.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.safestring import SafeString

from sessions_app.models import ConnectorInstance, Dialog, Message
from sessions_app.search import postgresql, sqlite
from sessions_app.search.paging import Row, SearchCursor, Window, cursor_scope, decode_cursor
from sessions_app.search.query import MAX_QUERY_LENGTH, SearchQueryInvalid, SearchTerms, parse_query
from sessions_app.search.snippet import make_media_line, make_snippet

__all__ = [
    "MAX_LIMIT",
    "MAX_QUERY_LENGTH",
    "RANK_WINDOW",
    "SearchHit",
    "SearchPage",
    "SearchQueryInvalid",
    "search_messages",
    "search_page",
]

MAX_LIMIT = 500
# Ranking reads each match's statistics (bm25) or re-parses its text (ts_rank_cd): for a word in
# a fifth of a million messages that takes seconds. So only the RANK_WINDOW most recently
# archived matches (highest row ids) are ranked; a query with fewer matches is ranked in full.
# Pages past the window list the older matches newest first (paging.py).
RANK_WINDOW = 5000

_ENGINES: dict[str, _Engine] = {"sqlite": sqlite, "postgresql": postgresql}


@dataclass(frozen=True)
class SearchHit:
    message: Message  # its dialog is loaded (select_related)
    rank: float  # higher is better; comparable only within one search
    snippet: SafeString  # ~30 words of escaped text around the match, matched words in <mark>…</mark>
    media: SafeString  # "[document] report.pdf", escaped, matched words marked; "" without media


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    first: int  # the position of hits[0] among all results, from 1
    next: str  # the `after` value of the next page; "" on the last page


def search_messages(
    *, instance: ConnectorInstance, query: str, limit: int = 50, peer_id: int | None = None
) -> list[SearchHit]:
    """The first page of search_page(): the best `limit` results."""
    return search_page(instance=instance, query=query, limit=limit, peer_id=peer_id).hits


def search_page(
    *,
    instance: ConnectorInstance,
    query: str,
    limit: int = 50,
    peer_id: int | None = None,
    after: str = "",
    conversation: Sequence[int] | None = None,
) -> SearchPage:
    """The instance's messages that contain every word of `query` (in the text, the sender's name or the file name).

    Best first within the RANK_WINDOW most recent matches, then older matches newest first;
    `after` is the `next` of the previous page ("" for the first page), and following `next`
    visits every match exactly once (paging.py says when ranks may shift in between).

    When whole words find fewer than `limit` messages and the last word has 3 or more
    characters, it also matches as a prefix (`meet` finds `meeting`): prefix matching is slow
    for a word in many messages, which find enough without it; the first page decides, the
    following pages keep its choice. `peer_id` narrows the search to one dialog; `limit` is
    capped at MAX_LIMIT. `conversation` is the peer ids `peer_id` stands for (it and the basic
    groups it was upgraded from) when the caller has them already; they are looked up otherwise.
    Raises SearchQueryInvalid when the query has no word to search for, is
    longer than MAX_QUERY_LENGTH characters, or `after` is not a cursor this function made.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    terms = parse_query(query)
    scope = cursor_scope(instance_id=instance.pk, peer_id=peer_id, terms=terms)
    cursor = decode_cursor(after, scope=scope) if after else None
    limit = min(limit, MAX_LIMIT)
    connection = connections[router.db_for_read(Message)]
    engine = _ENGINES.get(connection.vendor)
    if engine is None:
        raise NotImplementedError(f"Message search supports SQLite and PostgreSQL, not {connection.vendor}.")

    peers: list[int] | None = None
    if peer_id is not None:
        peers = list(conversation) if conversation is not None else _conversation(instance.pk, peer_id)
        if peer_id not in peers:
            raise ValueError(f"conversation {peers} does not hold the dialog {peer_id}")
    searched = _Scope(connection=connection, engine=engine, instance_id=instance.pk, peers=peers, limit=limit)
    if cursor is not None:
        used = terms if cursor.prefix else terms.whole_words()
        rows, window = searched.rows(used, cursor)
    else:
        used = terms.whole_words()
        rows, window = searched.rows(used, None)
        if terms.prefix and len(rows) < limit:
            used = terms
            rows, window = searched.rows(used, None)

    seen = cursor.seen if cursor is not None else 0
    next_after = ""
    if len(rows) > limit and window is not None:
        last = rows[limit - 1]
        ranked = window.holds(last.id)
        next_after = SearchCursor(
            prefix=used.prefix,
            seen=seen + limit,
            window=window,
            rank=last.rank if ranked else None,
            id=last.id,
        ).encode(scope=scope)
    rows = rows[:limit]

    messages = Message.objects.using(connection.alias).select_related("dialog").in_bulk([row.id for row in rows])
    # A message deleted between the two queries is simply left out.
    hits = [
        SearchHit(
            message=messages[row.id],
            rank=row.rank,
            snippet=make_snippet(row.marked_text),
            media=make_media_line(messages[row.id].media_kind, row.marked_file_name),
        )
        for row in rows
        if row.id in messages
    ]
    return SearchPage(hits=hits, first=seen + 1, next=next_after)


def _conversation(instance_id: int, peer_id: int) -> list[int]:
    """The dialog's peer id and those of the basic groups it was upgraded from (Dialog.migrated_to)."""
    upgraded_from = Dialog.objects.filter(instance_id=instance_id, migrated_to__peer_id=peer_id)
    return [peer_id, *upgraded_from.values_list("peer_id", flat=True)]


class _Engine(Protocol):
    """What sqlite.py and postgresql.py each provide (modules satisfy this protocol)."""

    def search_sql(
        self,
        *,
        terms: SearchTerms,
        instance_id: int,
        limit: int,
        window: int,
        peers: Sequence[int] | None,
        bounds: Window | None = None,
        after: tuple[float, int] | None = None,
    ) -> tuple[str, Sequence[str | int | float]]: ...

    def older_sql(
        self, *, terms: SearchTerms, instance_id: int, limit: int, peers: Sequence[int] | None, below: int
    ) -> tuple[str, Sequence[str | int | float]]: ...

    def row(self, terms: SearchTerms, pk: int, rank: float, text: str | None, file_name: str | None) -> Row: ...


@dataclass(frozen=True)
class _Scope:
    connection: BaseDatabaseWrapper
    engine: _Engine
    instance_id: int
    peers: list[int] | None  # the conversation searched, None for every dialog
    limit: int

    def rows(self, terms: SearchTerms, cursor: SearchCursor | None) -> tuple[list[Row], Window | None]:
        """Up to limit + 1 rows after `cursor` (one more than a page, to know whether another follows)."""
        want = self.limit + 1
        if cursor is not None and cursor.rank is None:  # already past the ranked window
            return self._older(terms, limit=want, below=cursor.id), cursor.window
        sql, params = self.engine.search_sql(
            terms=terms,
            instance_id=self.instance_id,
            peers=self.peers,
            limit=want,
            window=RANK_WINDOW,
            bounds=cursor.window if cursor is not None else None,
            after=(cursor.rank, cursor.id) if cursor is not None and cursor.rank is not None else None,
        )
        fetched = self._fetch(sql, params)
        window = cursor.window if cursor is not None else None
        if window is None and fetched:
            # Every ranked row also carries the window's size and id range.
            _, _, _, _, count, floor, ceiling = fetched[0]
            window = Window(floor=floor if count >= RANK_WINDOW else 0, ceiling=ceiling)
        rows = [self.engine.row(terms, pk, rank, text, name) for pk, rank, text, name, *_ in fetched]
        if window is not None and len(rows) < want and window.floor > 0:
            rows += self._older(terms, limit=want - len(rows), below=window.floor)
        return rows, window

    def _older(self, terms: SearchTerms, *, limit: int, below: int) -> list[Row]:
        sql, params = self.engine.older_sql(
            terms=terms, instance_id=self.instance_id, peers=self.peers, limit=limit, below=below
        )
        return [self.engine.row(terms, pk, rank, text, name) for pk, rank, text, name in self._fetch(sql, params)]

    def _fetch(self, sql: str, params: Sequence[str | int | float]) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched: list[tuple[Any, ...]] = cursor.fetchall()
            return fetched
