from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sessions_app.models import AuditEvent, ConnectorInstance
from sessions_app.services.audit_chain import audit_chain_lock, audit_hash


def audit_record(
    *,
    instance: ConnectorInstance | None,
    actor: User | None,
    action: str,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Callers pass only non-secret detail (never a session, code, hash or password)."""
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
            detail=detail or {},
            created_at=timezone.now(),
            prev_hash=last or "",
        )
        event.hash = audit_hash(event)
        event.save(force_insert=True)
    return event
