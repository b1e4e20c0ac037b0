"""Search on PostgreSQL: a GIN expression index over the words of each message (migration 0003).

The WHERE clause repeats the index's expression, so the planner matches it to the index: change
one and you must change the other (in a new migration).
"""

from __future__ import annotations

import html

from django.db.backends.base.base import BaseDatabaseWrapper

from sessions_app.search.query import SearchTerms, tsquery_text
from sessions_app.search.snippet import MARK_END, MARK_START

INDEX_NAME = "sessions_app_message_search"
CONFIG = "simple"  # no stemming, no stop words: names, handles and mixed languages stay findable
DOCUMENT = f"to_tsvector('{CONFIG}', coalesce(m.text, '') || ' ' || coalesce(m.sender_name, ''))"

# ts_rank_cd normalization 1: divide by 1 + log(document length), so a short message that is
# about the words ranks above a long one that mentions them in passing (as bm25 does on SQLite).
_RANK_NORMALIZATION = 1

# ts_headline parses its input with the same parser as to_tsvector, which takes `<…>` for a tag
# and drops it from the headline: escaped first, a message's `<script>` comes back as text.
# Entities are single tokens to the parser, so marks never land inside one.
# The marker characters are dropped from the text first, so only ts_headline's marks are marks.
ESCAPED_TEXT = (
    f"replace(replace(replace(replace(translate(m.text, '{MARK_START}{MARK_END}', ''), "
    "'&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '\"', '&quot;')"
)
HEADLINE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'


def search_sql(
    *, terms: SearchTerms, instance_id: int, limit: int, window: int, peer_id: int | None
) -> tuple[str, list[str | int]]:
    """The query behind search_messages(): rows of (message id, rank, marked escaped text), best first.

    `matches` is only the GIN index and the instance filter (MATERIALIZED keeps the planner
    from trading the index for a backward walk of the primary key); ranking re-parses each text,
    so it runs on the `window` matches with the highest ids only, and ts_headline on the `limit` winners.
    """
    tsquery = tsquery_text(terms)
    peer_filter = "AND m.peer_id = %s" if peer_id is not None else ""
    sql = f"""
        WITH matches AS MATERIALIZED (
            SELECT m.id FROM sessions_app_message AS m
            WHERE {DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter}
        ),
        candidates AS (
            SELECT id FROM matches ORDER BY id DESC LIMIT %s
        ),
        top AS (
            SELECT m.id, ts_rank_cd({DOCUMENT}, to_tsquery('{CONFIG}', %s), {_RANK_NORMALIZATION}) AS rank
            FROM candidates JOIN sessions_app_message AS m ON m.id = candidates.id
            ORDER BY rank DESC, m.id DESC
            LIMIT %s
        )
        SELECT top.id, top.rank, ts_headline('{CONFIG}', {ESCAPED_TEXT}, to_tsquery('{CONFIG}', %s), %s)
        FROM top
        JOIN sessions_app_message AS m ON m.id = top.id
        ORDER BY top.rank DESC, top.id DESC
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    params: list[str | int] = [tsquery, instance_id]
    if peer_id is not None:
        params.append(peer_id)
    params += [window, tsquery, limit, tsquery, HEADLINE_OPTIONS]
    return sql, params


def search(
    connection: BaseDatabaseWrapper,
    *,
    terms: SearchTerms,
    instance_id: int,
    limit: int,
    window: int,
    peer_id: int | None,
) -> list[tuple[int, float, str]]:
    """(message id, rank, text with MARK_START/MARK_END around matched words), best first."""
    sql, params = search_sql(terms=terms, instance_id=instance_id, limit=limit, window=window, peer_id=peer_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Back from the escaped form ts_headline worked on; make_snippet() escapes it again.
        return [(pk, float(rank), html.unescape(headline or "")) for pk, rank, headline in cursor.fetchall()]
