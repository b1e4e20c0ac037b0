"""Search on PostgreSQL: a GIN index over a stored tsvector column of each message (migrations 0003, 0009, 0016).

The column (DOCUMENT_COLUMN, generated from the text, the sender's name and the file name's
words) is parsed once, when the row is written: matching, a lossy bitmap's recheck and ranking
read it instead of parsing each text again, and the planner has statistics per word to choose
between the GIN index (rare words) and a walk down the primary key that stops at the window
(words in most messages). For a word in a few percent of the messages, which the planner would
walk far for, recent_floor() estimates from those statistics where its window lies and migration
0023's function reads the matches there through a bitmap. Paging follows
sessions_app/search/paging.py: search_sql() reads the ranked window, older_sql() the matches below it.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence

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


# A word in this share of the messages searched or more: the walk down the primary key reads at
# most window / WALK_DENSITY rows, so the planner's walk is left alone.
WALK_DENSITY = 0.05
# How much wider than the estimate the range read through the bitmap is (the estimate assumes
# words independent and an instance's messages spread evenly over the ids).
FLOOR_MARGIN = 1.25
# A range wider than this share of the ids holds most of the word's matches anyway: the GIN index
# alone reads them for less than the primary key's bitmap of the range costs.
MAX_RANGE_SHARE = 0.5
RECENT_FUNCTION = "sessions_app_search_recent"  # migration 0023
BIGINT_MAX = 2**63 - 1


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
    peers: Sequence[int] | None,
    bounds: Window | None = None,
    after: tuple[float, int] | None = None,
) -> tuple[str, list[str | int | float]]:
    """The ranked part: rows of (id, rank, marked escaped text, file name, window count, floor, ceiling).

    `candidates` are the `window` matches with the highest ids, with their stored documents
    (_candidates says how they are read). MATERIALIZED keeps the ranking from being computed twice
    for a later page's (rank, id) filter; ts_headline parses only the `limit` winners. `stats`
    reads the window's bounds from the ids alone. `bounds` (from a later page's cursor) keeps the
    window the first page saw; `after` is the last (rank, id) shown.
    """
    tsquery = tsquery_text(terms)
    candidates, params = _candidates(terms=terms, instance_id=instance_id, peers=peers, window=window, bounds=bounds)
    params.append(tsquery)
    after_filter = ""
    if after is not None:
        after_filter = "WHERE (rank, id) < (%s, %s)"
        params += [after[0], after[1]]
    params += [limit, tsquery, HEADLINE_OPTIONS]
    sql = f"""
        WITH candidates AS MATERIALIZED (
            {candidates}
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


def _candidates(
    *, terms: SearchTerms, instance_id: int, peers: Sequence[int] | None, window: int, bounds: Window | None
) -> tuple[str, list[str | int | float]]:
    """SQL for the window's matches, newest first: rows of (id, document).

    By default the planner chooses from its statistics of the column: the GIN index for a rare
    word, a walk down the primary key that stops at the window for a word in most messages. For a
    word in fewer than WALK_DENSITY of the messages searched it would walk far, so recent_floor()
    estimates the id above which the window lies and RECENT_FUNCTION reads the matches above it
    through a bitmap; the matches below are read only when fewer than `window` lie above it, so
    the rows are the same whatever the estimate.
    """
    tsquery = tsquery_text(terms)
    peer_filter, peer_params = peer_clause(peers)
    match = f"{DOCUMENT} @@ to_tsquery('{CONFIG}', %s) AND m.instance_id = %s {peer_filter}"
    match_params: list[str | int | float] = [tsquery, instance_id, *peer_params]
    # One dialog's messages lie where the runs that archived it wrote them, not spread over the ids
    # as an instance's are over time: no estimate for a dialog.
    floor = None
    if peers is None:
        floor = recent_floor(terms=terms, instance_id=instance_id, window=window)
    if floor is None:
        bounds_filter = "" if bounds is None else "AND m.id BETWEEN %s AND %s"
        bounds_params = [] if bounds is None else [bounds.floor, bounds.ceiling]
        sql = f"""SELECT m.id, {DOCUMENT} AS document FROM sessions_app_message AS m
            WHERE {match} {bounds_filter}
            ORDER BY m.id DESC LIMIT %s"""  # noqa: S608 - only constants are formatted in
        return sql, [*match_params, *bounds_params, window]
    recent = f"SELECT id, document FROM {RECENT_FUNCTION}(to_tsquery('{CONFIG}', %s), %s, %s, %s, %s)"  # noqa: S608
    if bounds is not None:  # a later page: the window is that range exactly
        return recent, [tsquery, instance_id, bounds.floor, bounds.ceiling, window]
    # Append runs its branches in order and the LIMIT stops it: the second runs only when the first falls short.
    sql = f"""SELECT id, document FROM (
                ({recent})
                UNION ALL
                (SELECT m.id, {DOCUMENT} FROM sessions_app_message AS m
                 WHERE {match} AND m.id < %s ORDER BY m.id DESC LIMIT %s)
            ) AS newest LIMIT %s"""  # noqa: S608 - only constants are formatted in
    return sql, [tsquery, instance_id, floor, BIGINT_MAX, window, *match_params, floor, window, window]


def recent_floor(*, terms: SearchTerms, instance_id: int, window: int) -> int | None:
    """The message id above which the `window` newest matches of `terms` probably lie; None to leave it to the planner.

    From the column's statistics (ANALYZE): the share of messages holding each word (words
    independent, as the planner assumes) times the share of messages that are the instance's,
    spread evenly over the ids (when they are not, the matches below the floor fill the window:
    slower, never different). None when a word is not among the statistics'
    common words (a rare word: the GIN index reads all its matches cheaply), when the words are
    in WALK_DENSITY of the messages searched or more (the walk stops soon), or when the range
    would span more than MAX_RANGE_SHARE of the ids.
    """
    from django.db import connections, router  # the query builders above need no connection

    from sessions_app.models import Message

    # A prefix (the last word, when terms.prefix) holds as many messages as its words together:
    # the sum of their shares, counting only the words among the statistics' (an underestimate
    # widens the range, which stays correct, only slower).
    whole = list(terms.words[:-1] if terms.prefix else terms.words)
    prefix = terms.words[-1] if terms.prefix else ""
    elements = f"""
        FROM pg_stats AS s,
            unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS u(word, frequency)
        WHERE s.schemaname = current_schema() AND s.tablename = 'sessions_app_message'
            AND s.attname = '{DOCUMENT_COLUMN}'"""
    params: list[int | str | list[str]] = [instance_id, whole, prefix, prefix, prefix]
    sql = f"""
        SELECT
            (SELECT max(id) FROM sessions_app_message),
            (SELECT reltuples FROM pg_class WHERE oid = 'sessions_app_message'::regclass),
            (SELECT coalesce(sum(message_count), 0) FROM sessions_app_dialog WHERE instance_id = %s),
            ARRAY(SELECT u.frequency {elements} AND u.word = ANY(%s)),
            (SELECT sum(u.frequency) {elements} AND %s <> '' AND left(u.word, length(%s)) = %s)
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    with connections[router.db_for_read(Message)].cursor() as cursor:
        cursor.execute(sql, params)
        top, rows, searched, frequencies, prefix_share = cursor.fetchone()
    if not top or rows <= 0 or not searched or len(frequencies) < len(whole) or (prefix and not prefix_share):
        return None
    if prefix:
        frequencies = [*frequencies, min(1.0, prefix_share)]
    density: float = math.prod(frequencies) * min(1.0, searched / rows)
    if density <= 0 or density >= WALK_DENSITY:
        return None
    span = math.ceil(FLOOR_MARGIN * window / density)
    if span > top * MAX_RANGE_SHARE:
        return None
    return int(top) - span


def older_sql(
    *, terms: SearchTerms, instance_id: int, limit: int, peers: Sequence[int] | None, below: int
) -> tuple[str, list[str | int]]:
    """Matches with ids below `below`, newest first: rows of (id, rank, marked escaped text, file name)."""
    tsquery = tsquery_text(terms)
    params: list[str | int] = [tsquery, instance_id]
    peer_filter, peer_params = peer_clause(peers)
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
