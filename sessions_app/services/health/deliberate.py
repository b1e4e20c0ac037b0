"""What the team did on purpose shows in the health at once and is never alerted.

A revoke ends both authorizations and empties the object: the next check would find nothing to
watch, but until then the card would still say "healthy", and a check racing the revoke could see
the connector gone. So the revoke settles the health itself, in its own transaction: "nothing to
watch" (a state the checks keep, so they do not flap) with who did it, and no alert, whatever the
state was before (a "recovered" alert would be as wrong as a "gone" one). A later login makes the
checks find the instance healthy again; leaving "nothing to watch" is no news either.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance
from sessions_app.models_health import Health, InstanceHealth
from sessions_app.services.audit import audit_record
from sessions_app.services.operations import Actor

# What the checks say of an instance revoked on purpose when the revoke's own words are gone.
REVOKED_REASON = "Revoked on purpose: there is nothing to watch until someone logs in again."


def revoke_worded(reason: str) -> bool:
    """Whether a health reason is a revoke's own (which the checks keep while nothing changes)."""
    return reason.startswith("Revoked ")


def _who(actor: Actor) -> str:
    if actor is not None and actor.is_authenticated:
        return str(actor.get_username())
    return "the dashboard"


def revoked_by(actor: Actor) -> str:
    """The instance's reason after a revoke by the team: who ended the session, and how."""
    return f"Revoked by {_who(actor)}: the connector's and the dashboard's authorizations were ended on purpose."


def _locked_row(instance: ConnectorInstance) -> InstanceHealth:
    try:
        InstanceHealth.objects.get_or_create(instance=instance)
    except IntegrityError:  # created by a check at the same moment
        pass
    return InstanceHealth.objects.select_for_update().get(instance=instance)


def health_note_revoked(*, instance: ConnectorInstance, actor: Actor) -> InstanceHealth:
    """The instance was revoked on purpose: "nothing to watch", saying by whom; audited, never alerted."""
    reason = (
        f"Revoked by {_who(actor)}: Telegram ended the connector's and the dashboard's authorizations on purpose, "
        "so there is nothing to watch (and nothing is alerted) until someone logs in again."
    )
    with transaction.atomic():
        health = _locked_row(instance)
        previous = health.state
        health.reason, health.failing_since = reason, None
        if previous != Health.IDLE:
            health.state, health.changed_at = Health.IDLE, timezone.now()
            audit_record(
                instance=instance,
                actor=actor,
                action="health.change",
                detail={"from": previous, "to": Health.IDLE, "cause": "revoke"},
            )
        health.save(update_fields=["state", "reason", "changed_at", "failing_since"])
    return health
