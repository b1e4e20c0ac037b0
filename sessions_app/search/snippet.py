"""Snippets: about 30 words of a message around its best match, as safe HTML with <mark> tags.

The engines only mark the matched words in the whole text (sqlite.mark_matches() with FTS5's
tokenizer rules, ts_headline with HighlightAll on PostgreSQL), using two Unicode noncharacters
instead of HTML. Choosing the window, escaping and turning the markers into <mark> tags happen
here, once for both engines, so both give the same snippet and the HTML is never the database's
output as is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

from sessions_app.search.query import SearchTerms

# Unicode noncharacters: never assigned, so message text does not carry them in practice; if one
# does, it can only move a highlight, never let markup through.
MARK_START = "\ufdd0"
MARK_END = "\ufdd1"

SNIPPET_WORDS = 30
CONTEXT_BEFORE = 8  # words shown before the first match in the window
ELLIPSIS = "…"

_MARKERS = re.compile(f"([{MARK_START}{MARK_END}])")
_WORD = re.compile(r"\S+")


def make_snippet(marked: str) -> SafeString:
    """The window of SNIPPET_WORDS words holding the most marked words, escaped, marks as <mark>."""
    spans = [match.span() for match in _WORD.finditer(marked)]
    if not spans:
        return mark_safe("")
    first, last = _window([MARK_START in marked[a:b] for a, b in spans])
    text = marked[spans[first][0] : spans[last - 1][1]]
    before = ELLIPSIS if first > 0 else ""
    after = ELLIPSIS if last < len(spans) else ""
    return mark_safe(before + _escape_marked(text) + after)  # noqa: S308 - _escape_marked escapes every character


def make_media_line(kind: str, marked_file_name: str) -> SafeString:
    """`[document] report.pdf` for a message with media (matched words of the name in <mark>), else ""."""
    if not kind:
        return mark_safe("")
    label = html.escape(f"[{kind}]", quote=True)
    name = _escape_marked(marked_file_name)
    return mark_safe(f"{label} {name}" if name else label)  # noqa: S308 - both parts are escaped


_NO_MARKERS = {ord(MARK_START): None, ord(MARK_END): None}


def mark_tokens(text: str, terms: SearchTerms, *, token: re.Pattern[str], fold: Callable[[str], str]) -> str:
    """`text` with MARK_START/MARK_END around each `token` that, folded, is a word of `terms` (or starts with the prefix).

    Each engine passes its tokenizer's idea of a token and of case (and accent) folding.
    """
    text = text.translate(_NO_MARKERS)  # so that only our marks are marks
    words = {fold(word) for word in terms.words}
    prefix = fold(terms.words[-1]) if terms.prefix else None

    def mark(found: re.Match[str]) -> str:
        folded = fold(found.group())
        if folded in words or (prefix is not None and folded.startswith(prefix)):
            return f"{MARK_START}{found.group()}{MARK_END}"
        return found.group()

    return token.sub(mark, text)


def _window(is_marked: list[bool]) -> tuple[int, int]:
    """[first, last) word indexes: most marked words in SNIPPET_WORDS, earliest such window, some context first."""
    count = len(is_marked)
    if count <= SNIPPET_WORDS:
        return 0, count
    best_start, best_hits = 0, -1
    for position, marked in enumerate(is_marked):
        if not marked:
            continue
        start = max(0, min(position - CONTEXT_BEFORE, count - SNIPPET_WORDS))
        hits = sum(is_marked[start : start + SNIPPET_WORDS])
        if hits > best_hits:
            best_start, best_hits = start, hits
    return best_start, best_start + SNIPPET_WORDS


def _escape_marked(marked: str) -> str:
    """Every character escaped; markers become <mark> tags, always balanced, never nested."""
    parts: list[str] = []
    open_mark = False
    for piece in _MARKERS.split(marked):
        if piece == MARK_START:
            if not open_mark:
                parts.append("<mark>")
                open_mark = True
        elif piece == MARK_END:
            if open_mark:
                parts.append("</mark>")
                open_mark = False
        elif piece:
            parts.append(html.escape(piece, quote=True))
    if open_mark:
        parts.append("</mark>")
    return "".join(parts)
