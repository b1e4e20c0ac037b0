from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from sessions_app.models import AuditEvent, ConnectorInstance


def audit_record(
    *,
    instance: ConnectorInstance | None,
    actor: User | None,
    action: str,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event. Callers pass only non-secret detail (never a session, code, hash or password)."""
    return AuditEvent.objects.create(
        instance=instance,
        session=instance.session if instance is not None else "",
        actor=actor,
        action=action,
        outcome=outcome,
        detail=detail or {},
    )
