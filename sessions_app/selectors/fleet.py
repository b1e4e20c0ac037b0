"""Discover: the session objects in the store that no instance holds yet."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessions_app.models import ConnectorInstance
from sessions_app.storage import ListedObject, StoreError, get_session_storage


@dataclass(frozen=True)
class Discovery:
    """What listing the store found; `error` is the sentence when it could not list (then `objects` is empty)."""

    objects: list[ListedObject] = field(default_factory=list)
    location: str = ""
    error: str = ""
    held: int = 0  # objects listed that an instance already holds (not shown)


def objects_without_instance() -> Discovery:
    """Every telegram/{SESSION}/session.txt in the store whose SESSION is no instance's, by SESSION."""
    store = get_session_storage()
    try:
        listed = store.list_sessions()
    except StoreError as error:
        return Discovery(location=store.location, error=error.message)
    held = set(ConnectorInstance.objects.values_list("session", flat=True))
    free = [listed_object for listed_object in listed if listed_object.session not in held]
    return Discovery(objects=free, location=store.location, held=len(listed) - len(free))
