"""Codes stored in events, checks and deliveries, as the words pages show: `{{ event.outcome|outcome_words }}`."""

from __future__ import annotations

from django import template

from sessions_app.models import AuditEvent
from sessions_app.selectors import audit_sentences
from sessions_app.services.health.events import event_words as _event_words

register = template.Library()

# What a health check found, per look (services/health/probe.py ObjectFinding and ConnectorFinding).
FINDING_WORDS: dict[str, str] = {
    "unchanged": "holds the connector's key",
    "rewritten": "rewritten by the connector, same key",
    "as_known": "as the dashboard left it",
    "appeared": "holds a key not adopted yet",
    "replaced": "replaced outside the dashboard",
    "emptied": "emptied outside the dashboard",
    "removed": "deleted outside the dashboard",
    "unreachable": "could not be reached",
    "listed": "listed among the account's sessions",
    "alive": "the account answers",
    "gone": "no longer listed",
    "no_key": "not logged in",
    "dashboard_key_lost": "dashboard key lost",
    "not_minted": "no dashboard key minted yet",
    "banned": "account banned or deleted",
    "frozen": "account frozen",
    "busy": "not checked: busy",
}


@register.filter
def audit_sentence(event: AuditEvent) -> str:
    return audit_sentences.audit_sentence(event)


@register.filter
def outcome_words(outcome: str) -> str:
    return audit_sentences.outcome_words(str(outcome))


@register.filter
def action_words(action: str) -> str:
    return audit_sentences.action_words(str(action))


@register.filter
def event_words(event: str) -> str:
    return _event_words(str(event))


@register.filter
def finding_words(finding: str) -> str:
    finding = str(finding)
    return FINDING_WORDS.get(finding, finding.replace("_", " "))
