from __future__ import annotations

from django import template

from sessions_app.models import AuditEvent
from sessions_app.selectors.audit_sentences import audit_sentence as _audit_sentence

register = template.Library()


@register.filter
def audit_sentence(event: AuditEvent) -> str:
    return _audit_sentence(event)
