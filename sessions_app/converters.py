"""The `<session:...>` URL converter: the SESSION rule (storage.base.SESSION_NAME_PATTERN) in every route.

Every HTTP route and the websocket route take the SESSION through it, so a malformed one never
reaches a view or a consumer: the resolver answers 404 (the websocket, 4404).
"""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import get_converters

from sessions_app.storage.base import SESSION_NAME_PATTERN

SESSION_CONVERTER = "session"


class SessionConverter:
    regex = SESSION_NAME_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def register_session_converter() -> None:
    """Register `<session:...>` once; the HTTP and the websocket URL modules each call it before their routes."""
    if SESSION_CONVERTER not in get_converters():
        register_converter(SessionConverter, SESSION_CONVERTER)


# The words routes take directly under /instances/ (today's and those issue-planned): never a
# SESSION, or a route would shadow that instance's pages. tests/test_reserved_session_names.py
# checks every such route of sessions_app.urls is listed here.
RESERVED_SESSION_NAMES = frozenset({"new", "bulk", "discover", "bulk-import"})


def reserved_session_names() -> frozenset[str]:
    return RESERVED_SESSION_NAMES


def reserved_session_refusal(session: str) -> str:
    """The sentence refusing a SESSION that a route takes, or "" for any other name."""
    if session in reserved_session_names():
        return (
            f"{session!r} cannot be a SESSION namespace: the dashboard uses /instances/{session}/ for a page of its "
            "own, so the instance's pages could not be reached. Pick another namespace."
        )
    return ""
