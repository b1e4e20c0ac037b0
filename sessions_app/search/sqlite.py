"""Search on SQLite: an FTS5 external-content table over the message table, kept in step by triggers.

The table, its triggers and its tokenizer are created by migration 0003. The index holds no copy
of the text: matches come back as message ids (the FTS rowid).
"""

from __future__ import annotations

import re
import unicodedata

from django.db.backends.base.base import BaseDatabaseWrapper

from sessions_app.search.query import SearchTerms, fts5_match
from sessions_app.search.snippet import MARK_END, MARK_START

FTS_TABLE = "sessions_app_message_fts"

# bm25 weights per FTS column (text, sender_name): a word in the text counts twice a word in the name.
_BM25 = f"bm25({FTS_TABLE}, 1.0, 0.5)"


def search_sql(
    *, terms: SearchTerms, instance_id: int, limit: int, window: int, peer_id: int | None
) -> tuple[str, list[str | int]]:
    """The query behind search_messages(): rows of (message id, rank, text), best first.

    CROSS JOIN fixes the join order: the full-text match drives, each match is looked up by
    primary key and only then filtered by instance. `candidates` reads matches in the index's
    rowid order, highest first, and stops after `window` of the instance's: bm25() runs for
    those only, so a word in every other message costs about what a rare one does.
    """
    match = fts5_match(terms)
    peer_filter = "AND m.peer_id = %s" if peer_id is not None else ""
    sql = f"""
        WITH candidates AS (
            SELECT m.id AS id, m.text AS text, {_BM25} AS score
            FROM {FTS_TABLE}
            CROSS JOIN sessions_app_message AS m ON m.id = {FTS_TABLE}.rowid
            WHERE {FTS_TABLE} MATCH %s AND m.instance_id = %s {peer_filter}
            ORDER BY {FTS_TABLE}.rowid DESC
            LIMIT %s
        )
        SELECT id, -score, text FROM candidates ORDER BY score, id DESC LIMIT %s
    """  # noqa: S608 - only constants are formatted in; every value is a parameter
    params: list[str | int] = [match, instance_id]
    if peer_id is not None:
        params.append(peer_id)
    params += [window, limit]
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
        return [(pk, float(rank), mark_matches(text or "", terms)) for pk, rank, text in cursor.fetchall()]


# --- Highlighting -------------------------------------------------------------------------------
# FTS5's highlight() needs the MATCH again for every row, and for a prefix query FTS5 rebuilds the
# prefix's whole doclist each time: half a second for a prefix of a common word. So the words are
# marked here, with the rules of the table's tokenizer (unicode61 remove_diacritics 2): a token is
# a run of letters, digits and private-use characters (combining marks stay with their letter);
# case is folded; a Latin letter loses its diacritics, other scripts keep theirs (й is not и).
# Where this differs from FTS5 a word is found but not marked, never the other way round.

_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\ue000-\uf8ff])+")


_NO_MARKERS = {ord(MARK_START): None, ord(MARK_END): None}


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
    text = text.translate(_NO_MARKERS)  # so that only our marks are marks
    words = {fold(word) for word in terms.words}
    prefix = fold(terms.words[-1]) if terms.prefix else None

    def mark(token: re.Match[str]) -> str:
        folded = fold(token.group())
        if folded in words or (prefix is not None and folded.startswith(prefix)):
            return f"{MARK_START}{token.group()}{MARK_END}"
        return token.group()

    return _TOKEN.sub(mark, text)
