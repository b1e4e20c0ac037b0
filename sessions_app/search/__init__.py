"""Full-text search of the message archive: one function, an engine behind it per database vendor.

SQLite uses an FTS5 table kept in step by triggers; PostgreSQL a GIN expression index. Both are
created by migration 0003_search. Callers see only search_messages(), SearchHit and
SearchQueryInvalid; the engine is chosen from the database the Message model reads from.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, router
from django.utils.safestring import SafeString

from sessions_app.models import ConnectorInstance, Message
from sessions_app.search import postgresql, sqlite
from sessions_app.search.query import MAX_QUERY_LENGTH, SearchQueryInvalid, parse_query
from sessions_app.search.snippet import make_snippet

__all__ = ["MAX_QUERY_LENGTH", "SearchHit", "SearchQueryInvalid", "search_messages"]

MAX_LIMIT = 500


@dataclass(frozen=True)
class SearchHit:
    message: Message  # its dialog is loaded (select_related)
    rank: float  # higher is better; comparable only within one search
    snippet: SafeString  # escaped text around the match, matched words in <mark>…</mark>


def search_messages(
    *, instance: ConnectorInstance, query: str, limit: int = 50, peer_id: int | None = None
) -> list[SearchHit]:
    """The instance's messages that contain every word of `query`, best match first.

    The last word also matches as a prefix (`meet` finds `meeting`) when it has 3 or more
    characters. `peer_id` narrows the search to one dialog; `limit` is capped at MAX_LIMIT.
    Raises SearchQueryInvalid when the query has no word to search for or is longer than
    MAX_QUERY_LENGTH characters.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    terms = parse_query(query)
    limit = min(limit, MAX_LIMIT)
    connection = connections[router.db_for_read(Message)]
    if connection.vendor == "sqlite":
        sql, params = sqlite.search_sql(terms=terms, instance_id=instance.pk, limit=limit, peer_id=peer_id)
    elif connection.vendor == "postgresql":
        sql, params = postgresql.search_sql(terms=terms, instance_id=instance.pk, limit=limit, peer_id=peer_id)
    else:
        raise NotImplementedError(f"Message search supports SQLite and PostgreSQL, not {connection.vendor}.")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        rows = [(pk, rank, postgresql.marked_text(headline)) for pk, rank, headline in rows]

    messages = Message.objects.using(connection.alias).select_related("dialog").in_bulk([row[0] for row in rows])
    # A message deleted between the two queries is simply left out.
    return [
        SearchHit(message=messages[pk], rank=float(rank), snippet=make_snippet(marked))
        for pk, rank, marked in rows
        if pk in messages
    ]
