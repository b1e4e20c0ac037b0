"""Discover: session objects already in the store become instances, one action for all selected rows.

A new instance holds no key: it watches its object only (object checks, no Telegram checks) until
someone adopts the object's key with Verify on its page, which mints the dashboard's own
authorization with one short connection (the connector stopped for that moment).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from sessions_app.converters import reserved_session_refusal
from sessions_app.models import ConnectorInstance
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused
from sessions_app.services.instances import instance_create
from sessions_app.storage import StoreError, get_session_storage
from sessions_app.storage.base import SESSION_NAME_HELP, is_session_name

# One POST takes at most this many rows (a bucket with more is taken in a few pages at a time).
DISCOVER_MAX = 500

ADOPT_NEXT = (
    "It watches the object only (object checks, no Telegram checks) until someone adopts it: Verify on its "
    "page, with the account's two-step password if it has one, mints the dashboard's own authorization. "
    "Stop the connector for that moment."
)


class DiscoverRefused(ActionRefused):
    """The selection as a whole is refused; nothing was created."""


@dataclass(frozen=True)
class TakenIn:
    session: str
    created: bool
    sentence: str


def fleet_take_in(*, actor: User, sessions: list[str]) -> list[TakenIn]:
    """Each selected SESSION whose object is in the store becomes an instance owned by `actor`.

    Each row is decided on its own and says what happened: created, refused and why, or already held
    by an instance. Audited row by row (instance.create) and once for the action (fleet.discover).
    """
    unique = list(dict.fromkeys(session.strip() for session in sessions if session.strip()))
    if not unique:
        raise DiscoverRefused("Tick at least one session object to take in. Nothing was created.")
    if len(unique) > DISCOVER_MAX:
        raise DiscoverRefused(
            f"{len(unique)} rows were ticked; one action takes at most {DISCOVER_MAX}. Nothing was created: "
            "tick fewer and take the rest in afterwards."
        )
    results = [_take_in(actor=actor, session=session) for session in unique]
    created = sum(1 for result in results if result.created)
    audit_record(
        instance=None, actor=actor, action="fleet.discover", detail={"selected": len(results), "created": created}
    )
    return results


def _take_in(*, actor: User, session: str) -> TakenIn:
    if not is_session_name(session):
        return TakenIn(session, False, f"{session[:70]!r}: refused, not a SESSION name ({SESSION_NAME_HELP})")
    if reserved := reserved_session_refusal(session):
        return TakenIn(session, False, f"{session}: refused. {reserved}")
    if ConnectorInstance.objects.filter(session=session).exists():
        return TakenIn(session, False, f"{session}: already held by an instance; nothing was changed.")
    try:
        info = get_session_storage().head(session)
    except StoreError as error:
        return TakenIn(session, False, f"{session}: refused, its object could not be checked. {error.message}")
    if info is None:
        return TakenIn(
            session, False, f"{session}: refused, its object is no longer in the store (deleted since the list)."
        )
    try:
        instance_create(actor=actor, session=session, name=session)
    except ActionRefused as refusal:
        return TakenIn(session, False, f"{session}: refused. {refusal.message}")
    except ValidationError as invalid:
        return TakenIn(session, False, f"{session}: refused. {' '.join(invalid.messages)}")
    state = "Its object is empty (no connector is logged in with it)." if info.size == 0 else ADOPT_NEXT
    return TakenIn(session, True, f"{session}: created. {state}")
