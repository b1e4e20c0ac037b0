"""Search on PostgreSQL: a GIN index over a stored tsvector column of each message (migrations 0003, 0009, 0016).

The column (DOCUMENT_COLUMN, generated from the text, the sender's name and the file name's
words) is parsed once, when the row is written: matching, a lossy bitmap's recheck and ranking
read it instead of parsing each text again, and the planner has statistics per word to choose
between the GIN index (rare words) and a walk down the primary key that stops at the window
(words in most messages). Paging follows sessions_app/search/paging.py: search_sql() reads the
ranked window, older_sql() the matches below it.
"""

from __future__ import annotations

import html
import re

from sessions_app.search.paging import Row, Window
from sessions_app.search.query import SearchTerms, tsquery_text
from sessions_app.search.query import peer_filter as peer_clause
from sessions_app.search.snippet import MARK_END, MARK_START, mark_tokens

INDEX_NAME = "sessions_app_message_search"
CONFIG = "simple"  # no stemming, no stop words: names, handles and mixed languages stay findable
# Migration 0016 generates it as to_tsvector(CONFIG, text || ' ' || sender_name || ' ' || the file
# name's words): the default parser reads `quarterly_report-2024.pdf` as one host name, so every
# run of other characters is made a space and a file name is found by each of its words, as on SQLite.
DOCUMENT_COLUMN = "search_document"
DOCUMENT = f"m.{DOCUMENT_COLUMN}"

# ts_rank_cd normalization 1: divide by 1 + log(document length), so a short message that is
# about the words ranks above a long one that mentions them in passing (as bm25 does on SQLite).
# The rank is a float4, widened to float8 so that the cursor's (rank, id) compares exactly.
_RANK_NORMALIZATION = 1


def _rank(document: str) -> str:
    return f"ts_rank_cd({document}, to_tsquery('{CONFIG}', %s), {_RANK_NORMALIZATION})::float8"


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

    `candidates` are the `window` matches with the highest ids, with their stored documents: the
    planner reads them through the GIN index (a rare word) or walks the primary key down until
    it has the window (a word in most messages), by its statistics of the column. MATERIALIZED
    keeps the ranking from being computed twice for a later page's (rank, id) filter; ts_headline
    parses only the `limit` winners. `stats` reads the window's bounds from the ids alone.
    `bounds` (from a later page's cursor) keeps the window the first page saw; `after` is the
    last (rank, id) shown.
    """
    tsquery = tsquery_text(terms)
    params: list[str | int | float] = [tsquery, instance_id]
    bounds_filter = after_filter = ""
    peer_filter, peer_params = peer_clause(peer_id, instance_id)
    params += peer_params
    if bounds is not None:
        bounds_filter = "AND m.id BETWEEN %s AND %s"
        params += [bounds.floor, bounds.ceiling]
    params += [window, tsquery]
    if after is not None:
        after_filter = "WHERE (rank, id) < (%s, %s)"
        params += [after[0], after[1]]
    params += [limit, tsquery, HEADLINE_OPTIONS]
    sql = f"""
        WITH candidates AS MATERIALIZED (
            SELECT m.id, {DOCUMENT} AS document FROM sessions_app_message AS m
            WHERE {DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter} {bounds_filter}
            ORDER BY m.id DESC LIMIT %s
        ),
        stats AS (
            SELECT count(*) AS n, min(id) AS floor, max(id) AS ceiling FROM candidates
        ),
        ranked AS MATERIALIZED (
            SELECT id, {_rank("document")} AS rank FROM candidates
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
    peer_filter, peer_params = peer_clause(peer_id, instance_id)
    params += peer_params
    params += [below, limit, tsquery, tsquery, HEADLINE_OPTIONS]
    sql = f"""
        WITH top AS MATERIALIZED (
            SELECT m.id FROM sessions_app_message AS m
            WHERE {DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter} AND m.id < %s
            ORDER BY m.id DESC LIMIT %s
        )
        SELECT m.id, {_rank(DOCUMENT)}, {_HEADLINE}, m.media_file_name
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
