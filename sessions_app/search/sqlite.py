"""Search on SQLite: an FTS5 external-content table over the message table, kept in step by triggers.

The table, its triggers and its tokenizer are created by migration 0003. The index holds no copy
of the text: FTS5 reads the message row by rowid (= message id) when it highlights one.
"""

from __future__ import annotations

from sessions_app.search.query import SearchTerms, fts5_match
from sessions_app.search.snippet import MARK_END, MARK_START

FTS_TABLE = "sessions_app_message_fts"

# bm25 weights per FTS column (text, sender_name): a word in the text counts twice a word in the name.
_BM25 = f"bm25({FTS_TABLE}, 1.0, 0.5)"


def search_sql(*, terms: SearchTerms, instance_id: int, limit: int, peer_id: int | None) -> tuple[str, list[object]]:
    """The query behind search_messages(): rows of (message id, rank, marked text), best first.

    CROSS JOIN fixes the join order: the full-text match drives, each match is looked up by
    primary key and only then filtered by instance. Left to itself the planner may walk the
    instance's messages instead, which on a big archive means a full-text probe per message.
    highlight() runs in the outer query, for the `limit` winners only: in the inner one it would
    run for every match before the sort.
    """
    match = fts5_match(terms)
    peer_filter = "AND m.peer_id = %s" if peer_id is not None else ""
    sql = f"""
        WITH top AS (
            SELECT m.id AS id, {_BM25} AS score
            FROM {FTS_TABLE}
            CROSS JOIN sessions_app_message AS m ON m.id = {FTS_TABLE}.rowid
            WHERE {FTS_TABLE} MATCH %s AND m.instance_id = %s {peer_filter}
            ORDER BY score, m.id DESC
            LIMIT %s
        )
        SELECT top.id, -top.score, highlight({FTS_TABLE}, 0, %s, %s)
        FROM top
        CROSS JOIN {FTS_TABLE} ON {FTS_TABLE}.rowid = top.id
        WHERE {FTS_TABLE} MATCH %s
        ORDER BY top.score, top.id DESC
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    params: list[object] = [match, instance_id]
    if peer_id is not None:
        params.append(peer_id)
    params += [limit, MARK_START, MARK_END, match]
    return sql, params
