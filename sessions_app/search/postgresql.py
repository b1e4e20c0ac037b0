"""Search on PostgreSQL: a GIN expression index over the words of each message (migrations 0003, 0009).

The WHERE clause repeats the index's expression, so the planner matches it to the index: change
one and you must change the other (in a new migration). Paging follows
sessions_app/search/paging.py: search_sql() reads the ranked window, older_sql() the matches below it.
"""

from __future__ import annotations

import html
import re

from sessions_app.search.paging import Row, Window
from sessions_app.search.query import SearchTerms, tsquery_text
from sessions_app.search.snippet import MARK_END, MARK_START, mark_tokens

INDEX_NAME = "sessions_app_message_search"
CONFIG = "simple"  # no stemming, no stop words: names, handles and mixed languages stay findable
# The default parser reads `quarterly_report-2024.pdf` as one host name; with every run of other
# characters made a space, a file name is found by each of its words, as on SQLite.
FILE_NAME_WORDS = r"regexp_replace(coalesce(m.media_file_name, ''), '[^[:alnum:]]+', ' ', 'g')"
DOCUMENT = (
    f"to_tsvector('{CONFIG}', coalesce(m.text, '') || ' ' || coalesce(m.sender_name, '') || ' ' || {FILE_NAME_WORDS})"
)

# ts_rank_cd normalization 1: divide by 1 + log(document length), so a short message that is
# about the words ranks above a long one that mentions them in passing (as bm25 does on SQLite).
# The rank is a float4, widened to float8 so that the cursor's (rank, id) compares exactly.
_RANK_NORMALIZATION = 1
_RANK = f"ts_rank_cd({DOCUMENT}, to_tsquery('{CONFIG}', %s), {_RANK_NORMALIZATION})::float8"

# ts_headline parses its input with the same parser as to_tsvector, which takes `<…>` for a tag
# and drops it from the headline: escaped first, a message's `<script>` comes back as text.
# Entities are single tokens to the parser, so marks never land inside one.
# The marker characters are dropped from the text first, so only ts_headline's marks are marks.
ESCAPED_TEXT = (
    f"replace(replace(replace(replace(translate(m.text, '{MARK_START}{MARK_END}', ''), "
    "'&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '\"', '&quot;')"
)
HEADLINE_OPTIONS = f'StartSel="{MARK_START}", StopSel="{MARK_END}", HighlightAll=true'
_HEADLINE = f"ts_headline('{CONFIG}', {ESCAPED_TEXT}, to_tsquery('{CONFIG}', %s), %s)"


def search_sql(
    *,
    terms: SearchTerms,
    instance_id: int,
    limit: int,
    window: int,
    peer_id: int | None,
    bounds: Window | None = None,
    after: tuple[float, int] | None = None,
) -> tuple[str, list[str | int | float]]:
    """The ranked part: rows of (id, rank, marked escaped text, file name, window count, floor, ceiling).

    `matches` is only the GIN index and the instance filter (MATERIALIZED keeps the planner
    from trading the index for a backward walk of the primary key); ranking re-parses each text,
    so it runs on the `window` matches with the highest ids only (once: MATERIALIZED keeps a
    later page's (rank, id) filter from computing it a second time), and ts_headline on the
    `limit` winners. `stats` reads the window's bounds from the ids alone (window functions over
    the ranked rows cost a fifth more). `bounds` (from a later page's cursor) keeps the window
    the first page saw; `after` is the last (rank, id) shown.
    """
    tsquery = tsquery_text(terms)
    params: list[str | int | float] = [tsquery, instance_id]
    peer_filter = bounds_filter = after_filter = ""
    if peer_id is not None:
        peer_filter = "AND m.peer_id = %s"
        params.append(peer_id)
    if bounds is not None:
        bounds_filter = "AND m.id BETWEEN %s AND %s"
        params += [bounds.floor, bounds.ceiling]
    params += [window, tsquery]
    if after is not None:
        after_filter = "WHERE (rank, id) < (%s, %s)"
        params += [after[0], after[1]]
    params += [limit, tsquery, HEADLINE_OPTIONS]
    sql = f"""
        WITH matches AS MATERIALIZED (
            SELECT m.id FROM sessions_app_message AS m
            WHERE {DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter} {bounds_filter}
        ),
        candidates AS (
            SELECT id FROM matches ORDER BY id DESC LIMIT %s
        ),
        stats AS (
            SELECT count(*) AS n, min(id) AS floor, max(id) AS ceiling FROM candidates
        ),
        ranked AS MATERIALIZED (
            SELECT m.id, {_RANK} AS rank
            FROM candidates JOIN sessions_app_message AS m ON m.id = candidates.id
        ),
        top AS (
            SELECT * FROM ranked {after_filter}
            ORDER BY rank DESC, id DESC
            LIMIT %s
        )
        SELECT top.id, top.rank, {_HEADLINE}, m.media_file_name, stats.n, stats.floor, stats.ceiling
        FROM top
        CROSS JOIN stats
        JOIN sessions_app_message AS m ON m.id = top.id
        ORDER BY top.rank DESC, top.id DESC
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    return sql, params


def older_sql(
    *, terms: SearchTerms, instance_id: int, limit: int, peer_id: int | None, below: int
) -> tuple[str, list[str | int]]:
    """Matches with ids below `below`, newest first: rows of (id, rank, marked escaped text, file name)."""
    tsquery = tsquery_text(terms)
    params: list[str | int] = [tsquery, instance_id]
    peer_filter = ""
    if peer_id is not None:
        peer_filter = "AND m.peer_id = %s"
        params.append(peer_id)
    params += [below, limit, tsquery, tsquery, HEADLINE_OPTIONS]
    sql = f"""
        WITH matches AS MATERIALIZED (
            SELECT m.id FROM sessions_app_message AS m
            WHERE {DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter} AND m.id < %s
        ),
        top AS (
            SELECT id FROM matches ORDER BY id DESC LIMIT %s
        )
        SELECT m.id, {_RANK}, {_HEADLINE}, m.media_file_name
        FROM top
        JOIN sessions_app_message AS m ON m.id = top.id
        ORDER BY m.id DESC
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    return sql, params


def row(terms: SearchTerms, pk: int, rank: float, headline: str | None, file_name: str | None) -> Row:
    # Back from the escaped form ts_headline worked on; make_snippet() escapes it again.
    return Row(pk, float(rank), html.unescape(headline or ""), mark_file_name(file_name or "", terms))


# The index's words of a file name: runs of letters and digits, lower-cased (the `simple`
# configuration neither stems nor drops accents).
_FILE_NAME_TOKEN = re.compile(r"[^\W_]+")


def mark_file_name(file_name: str, terms: SearchTerms) -> str:
    """`file_name` with MARK_START/MARK_END around each word the tsquery of `terms` matches."""
    return mark_tokens(file_name, terms, token=_FILE_NAME_TOKEN, fold=str.lower)
