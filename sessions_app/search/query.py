"""Turning what the user typed into words, and the words into each engine's query syntax.

Both engines get the same words: letters and digits only, so no character the user types can
reach an engine's query syntax (FTS5's quotes, `*`, `NEAR`, `-`, `:` and parentheses, or
tsquery's `&`, `|`, `!`, `<->` and `:*`). Operators typed as words (`OR`, `NEAR`) are searched
as words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

MAX_QUERY_LENGTH = 200
MAX_WORDS = 32
PREFIX_MIN_LENGTH = 3  # shorter prefixes match too many terms to be fast or useful

# Letters and digits in any script. `_` is \w for Python but a separator for both tokenizers.
_WORD = re.compile(r"[^\W_]+")


class SearchQueryInvalid(ValueError):
    """The user's query cannot be searched; `message` is a sentence to show on the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SearchTerms:
    """The cleaned query: every word must match; the last one also as a prefix when `prefix`."""

    words: tuple[str, ...]
    prefix: bool

    def whole_words(self) -> SearchTerms:
        return replace(self, prefix=False)


def parse_query(query: str) -> SearchTerms:
    if len(query) > MAX_QUERY_LENGTH:
        raise SearchQueryInvalid(
            f"The search is {len(query)} characters long; shorten it to at most {MAX_QUERY_LENGTH} and search again."
        )
    words = _WORD.findall(unicodedata.normalize("NFC", query).lower())
    if not words:
        raise SearchQueryInvalid(
            "Type at least one word or number to search for: punctuation, symbols and emoji are not searched."
        )
    words = list(dict.fromkeys(words))[:MAX_WORDS]
    return SearchTerms(words=tuple(words), prefix=len(words[-1]) >= PREFIX_MIN_LENGTH)


def short_search_hint(terms: SearchTerms) -> str:
    """What to say when the last word is too short to match as a prefix ("" when it is long enough)."""
    if terms.prefix:
        return ""
    return (
        f"“{terms.words[-1]}” is shorter than {PREFIX_MIN_LENGTH} characters, so it only finds that exact word: "
        f"a search needs at least {PREFIX_MIN_LENGTH} characters to find the words that start with it."
    )


def fts5_match(terms: SearchTerms) -> str:
    """An FTS5 MATCH expression: each word a quoted string (implicit AND), the last one a prefix."""
    # The words hold no `"`, but double any as FTS5 wants so the quoting never depends on that.
    quoted = ['"{}"'.format(word.replace('"', '""')) for word in terms.words]
    if terms.prefix:
        quoted[-1] += "*"
    return " ".join(quoted)


def tsquery_text(terms: SearchTerms) -> str:
    """Input for to_tsquery(): each word a quoted lexeme, ANDed, the last one a prefix (`:*`)."""
    quoted = ["'{}'".format(word.replace("\\", "\\\\").replace("'", "''")) for word in terms.words]
    if terms.prefix:
        quoted[-1] += ":*"
    return " & ".join(quoted)


def peer_filter(peers: Sequence[int] | None) -> tuple[str, list[int]]:
    """SQL narrowing messages `m` to one conversation: `peers` are its dialog and the basic groups it was upgraded from.

    A supergroup's archive is one conversation with its old basic group's messages, kept under that
    group's own peer id so that ids never collide: searching the dialog searches both. The peers are
    looked up first (search_page), so the engine's plan stays the one of a plain peer filter.
    """
    if peers is None:
        return "", []
    if len(peers) == 1:
        return "AND m.peer_id = %s", list(peers)
    return f"AND m.peer_id IN ({', '.join(['%s'] * len(peers))})", list(peers)
