"""Search on SQLite: an FTS5 external-content table over the message table, kept in step by triggers.

The table, its triggers and its tokenizer are created by migration 0003 and rebuilt with the file
name column by 0009. The index holds no copy of the text: matches come back as message ids (the
FTS rowid). Paging follows sessions_app/search/paging.py: search_sql() reads the ranked window,
older_sql() the matches below it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sessions_app.search.paging import Row, Window
from sessions_app.search.query import SearchTerms, fts5_match
from sessions_app.search.query import peer_filter as peer_clause
from sessions_app.search.snippet import mark_tokens

FTS_TABLE = "sessions_app_message_fts"
MESSAGE_TABLE = "sessions_app_message"

# --- What is indexed: ONE place ------------------------------------------------------------------
# The FTS columns, in the table's order, each named like the message column it indexes. Migration
# 0009 writes the same list out (migrations never import app code); tests/search checks the live
# table against this tuple. Change them together, in a new migration.
FTS_COLUMNS = ("text", "sender_name", "media_file_name")
# bm25 weight per FTS column, same order: a word in the text counts twice a word in the sender's
# name or in a file name.
BM25_WEIGHTS = (1.0, 0.5, 0.5)


def fts_insert_sql(count: int) -> str:
    """SQL that adds `count` messages to the full-text index, given their ids as the parameters.

    `INSERT INTO sessions_app_message_fts (rowid, text, …) SELECT id, text, … FROM
    sessions_app_message WHERE id IN (%s, …)`: one `%s` (Django cursor placeholder) per id, so
    call it with at most SQLite's variable limit (32766) ids at a time. Run it AFTER the rows are
    in the message table. For code that indexes explicitly (batched) instead of the insert
    trigger; with the trigger in place this would index the rows twice.
    """
    return _fts_statement(count, delete=False)


def fts_delete_sql(count: int) -> str:
    """SQL that removes `count` messages (ids as the parameters) from the full-text index.

    An external-content FTS5 table must be told the exact values it indexed to remove them, so
    run this BEFORE the rows' indexed columns change or the rows are deleted, then fts_insert_sql()
    after an update. Same placeholders and limit as fts_insert_sql().
    """
    return _fts_statement(count, delete=True)


def _fts_statement(count: int, *, delete: bool) -> str:
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    columns = ", ".join(FTS_COLUMNS)
    placeholders = ", ".join(["%s"] * count)
    if delete:
        return (
            f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, {columns}) "  # noqa: S608 - constants only
            f"SELECT 'delete', id, {columns} FROM {MESSAGE_TABLE} WHERE id IN ({placeholders})"
        )
    return (
        f"INSERT INTO {FTS_TABLE} (rowid, {columns}) "  # noqa: S608 - constants only
        f"SELECT id, {columns} FROM {MESSAGE_TABLE} WHERE id IN ({placeholders})"
    )


# --- Searching -----------------------------------------------------------------------------------
# bm25 is lower for better matches: negated, a rank is higher for better ones, as on PostgreSQL.
_RANK = f"-bm25({FTS_TABLE}, {', '.join(str(weight) for weight in BM25_WEIGHTS)})"


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
    """The ranked part: rows of (id, rank, text, file name, window count, window floor, window ceiling).

    CROSS JOIN fixes the join order: the full-text match drives, each match is looked up by
    primary key and only then filtered by instance. `candidates` reads matches in the index's
    rowid order, highest first, and stops after `window` of the instance's: bm25() runs for
    those only, so a word in every other message costs about what a rare one does. `bounds`
    (from a later page's cursor) keeps the window the first page saw; `after` is the last
    (rank, id) shown.
    """
    match = fts5_match(terms)
    params: list[str | int | float] = [match, instance_id]
    bounds_filter = after_filter = ""
    peer_filter, peer_params = peer_clause(peers)
    params += peer_params
    if bounds is not None:
        bounds_filter = f"AND {FTS_TABLE}.rowid BETWEEN %s AND %s"
        params += [bounds.floor, bounds.ceiling]
    params.append(window)
    if after is not None:
        after_filter = "WHERE rank < %s OR (rank = %s AND id < %s)"
        params += [after[0], after[0], after[1]]
    params.append(limit)
    sql = f"""
        WITH candidates AS (
            SELECT m.id AS id, m.text AS text, m.media_file_name AS file_name, {_RANK} AS rank
            FROM {FTS_TABLE}
            CROSS JOIN {MESSAGE_TABLE} AS m ON m.id = {FTS_TABLE}.rowid
            WHERE {FTS_TABLE} MATCH %s AND m.instance_id = %s {peer_filter} {bounds_filter}
            ORDER BY {FTS_TABLE}.rowid DESC
            LIMIT %s
        ),
        stats AS (SELECT count(*) AS n, min(id) AS floor, max(id) AS ceiling FROM candidates)
        SELECT id, rank, text, file_name, n, floor, ceiling FROM candidates, stats
        {after_filter}
        ORDER BY rank DESC, id DESC
        LIMIT %s
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    return sql, params


def older_sql(
    *, terms: SearchTerms, instance_id: int, limit: int, peers: Sequence[int] | None, below: int
) -> tuple[str, list[str | int]]:
    """Matches with ids below `below`, newest first: rows of (id, rank, text, file name).

    The index serves the rowid order and the range, so this reads `limit` of the instance's
    matches and stops; bm25() runs on those only.
    """
    params: list[str | int] = [fts5_match(terms), instance_id]
    peer_filter, peer_params = peer_clause(peers)
    params += peer_params
    params += [below, limit]
    sql = f"""
        SELECT m.id, {_RANK}, m.text, m.media_file_name
        FROM {FTS_TABLE}
        CROSS JOIN {MESSAGE_TABLE} AS m ON m.id = {FTS_TABLE}.rowid
        WHERE {FTS_TABLE} MATCH %s AND m.instance_id = %s {peer_filter} AND {FTS_TABLE}.rowid < %s
        ORDER BY {FTS_TABLE}.rowid DESC
        LIMIT %s
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    return sql, params


def row(terms: SearchTerms, pk: int, rank: float, text: str | None, file_name: str | None) -> Row:
    return Row(pk, float(rank), mark_matches(text or "", terms), mark_matches(file_name or "", terms))


# --- Highlighting -------------------------------------------------------------------------------
# FTS5's highlight() needs the MATCH again for every row, and for a prefix query FTS5 rebuilds the
# prefix's whole doclist each time: half a second for a prefix of a common word. So the words are
# marked here, with the rules of the table's tokenizer (unicode61 remove_diacritics 2): a token is
# a run of letters, digits and private-use characters (combining marks stay with their letter);
# case is folded; a Latin letter loses its diacritics, other scripts keep theirs (й is not и).
# `_`, `-` and `.` separate tokens, so `quarterly_report-2024.pdf` is four words to search for.
# Where this differs from FTS5 a word is found but not marked, never the other way round.

_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\ue000-\uf8ff])+")


def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1 and decomposed[0].isascii() and decomposed[0].isalpha():
        return decomposed[0].lower()
    return char.lower()


def fold(token: str) -> str:
    """A token as unicode61 with remove_diacritics 2 indexes it."""
    folded = "".join(_fold_char(char) for char in unicodedata.normalize("NFC", token))
    return "".join(char for char in folded if unicodedata.category(char) != "Mn")


def mark_matches(text: str, terms: SearchTerms) -> str:
    """`text` with MARK_START/MARK_END around each token the MATCH of `terms` matched."""
    return mark_tokens(text, terms, token=_TOKEN, fold=fold)
