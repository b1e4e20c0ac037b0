from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.services.audit_chain import audit_chain_lock, audit_hash


@dataclass(frozen=True)
class _ViaToken:
    name: str
    token_id: int


# The API token a request came through, while the API runs its view: every event recorded meanwhile names it.
_via_token: ContextVar[_ViaToken | None] = ContextVar("audit_via_token", default=None)


@contextmanager
def audit_via_token(*, name: str, token_id: int) -> Iterator[None]:
    """Inside it, every audit event also names the API token (detail "api_token" and "api_token_id")."""
    reset = _via_token.set(_ViaToken(name=name, token_id=token_id))
    try:
        yield
    finally:
        _via_token.reset(reset)


def audit_record(
    *,
    instance: ConnectorInstance | None,
    actor: User | None,
    action: str,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Callers pass only non-secret detail (never a session, code, hash or password)."""
    detail = dict(detail or {})
    via = _via_token.get()
    if via is not None:
        detail["api_token"], detail["api_token_id"] = via.name, via.token_id
    with transaction.atomic():
        audit_chain_lock()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            instance=instance,
            session=instance.session if instance is not None else "",
            actor=actor,
            actor_name=actor.get_username() if actor is not None else "",
            action=action,
            outcome=outcome,
            detail=detail,
            created_at=timezone.now(),
            prev_hash=last or "",
        )
        event.hash = audit_hash(event)
        event.save(force_insert=True)
    return event
