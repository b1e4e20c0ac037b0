"""Full-text search of the message archive: one function, an engine behind it per database vendor.

SQLite uses an FTS5 table kept in step by triggers; PostgreSQL a GIN expression index. Both are
created by migration 0003_search. Callers see only search_messages(), SearchHit and
SearchQueryInvalid; the engine is chosen by the vendor of the database Message is read from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, router
from django.utils.safestring import SafeString

from sessions_app.models import ConnectorInstance, Message
from sessions_app.search import postgresql, sqlite
from sessions_app.search.query import MAX_QUERY_LENGTH, SearchQueryInvalid, parse_query
from sessions_app.search.snippet import make_snippet

__all__ = ["MAX_LIMIT", "MAX_QUERY_LENGTH", "RANK_WINDOW", "SearchHit", "SearchQueryInvalid", "search_messages"]

MAX_LIMIT = 500
# Ranking reads each match's statistics (bm25) or re-parses its text (ts_rank_cd): for a word in
# a fifth of a million messages that takes seconds. So only the RANK_WINDOW most recently
# archived matches (highest row ids) are ranked; a query with fewer matches is ranked in full.
RANK_WINDOW = 5000

_ENGINES = {"sqlite": sqlite, "postgresql": postgresql}


@dataclass(frozen=True)
class SearchHit:
    message: Message  # its dialog is loaded (select_related)
    rank: float  # higher is better; comparable only within one search
    snippet: SafeString  # ~30 words of escaped text around the match, matched words in <mark>…</mark>


def search_messages(
    *, instance: ConnectorInstance, query: str, limit: int = 50, peer_id: int | None = None
) -> list[SearchHit]:
    """The instance's messages that contain every word of `query` (in the text or the sender's name), best first.

    When whole words find fewer than `limit` messages and the last word has 3 or more
    characters, it also matches as a prefix (`meet` finds `meeting`): prefix matching is slow
    for a word in many messages, which find enough without it. `peer_id` narrows the search to
    one dialog; `limit` is capped at MAX_LIMIT. Raises SearchQueryInvalid when the query has no
    word to search for or is longer than MAX_QUERY_LENGTH characters.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    terms = parse_query(query)
    limit = min(limit, MAX_LIMIT)
    connection = connections[router.db_for_read(Message)]
    engine = _ENGINES.get(connection.vendor)
    if engine is None:
        raise NotImplementedError(f"Message search supports SQLite and PostgreSQL, not {connection.vendor}.")

    scope = {"instance_id": instance.pk, "limit": limit, "window": RANK_WINDOW, "peer_id": peer_id}
    rows = engine.search(connection, terms=terms.whole_words(), **scope)
    if terms.prefix and len(rows) < limit:
        rows = engine.search(connection, terms=terms, **scope)

    messages = Message.objects.using(connection.alias).select_related("dialog").in_bulk([row[0] for row in rows])
    # A message deleted between the two queries is simply left out.
    return [
        SearchHit(message=messages[pk], rank=rank, snippet=make_snippet(marked))
        for pk, rank, marked in rows
        if pk in messages
    ]
