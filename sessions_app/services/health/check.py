"""One health check of one instance: what it found, kept, settled into the instance's health and status.

The same function serves the schedule, `manage.py check_sessions` and "Check now". It claims the
instance first (at most one check of an instance at a time), looks at the store object and,
through the dashboard's own key, at the connector's authorization, and then

- keeps the check (the last HEALTH_CHECKS_KEPT of the instance);
- settles the instance's health: a verdict replaces it, except that "store or Telegram
  unreachable" is transient and replaces it only once it has lasted HEALTH_OUTAGE_ALERT_SECONDS;
- changes the instance's status through instance_set_status (audited, broadcast): a gone
  connector revokes, an object changed outside the dashboard leaves it "not saved", and the
  recovery of either makes it active again;
- queues the alerts of a transition (sending them is delivery.py's job, never the check's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.models_health import Health, HealthCheck, InstanceHealth
from sessions_app.services.audit import audit_record
from sessions_app.services.connector import CONNECTOR_NOT_LISTED
from sessions_app.services.errors import ActionRefused
from sessions_app.services.health.alerts import alert_event, alerts_queue
from sessions_app.services.health.deliberate import REVOKED_REASON, revoke_worded
from sessions_app.services.health.probe import (
    ConnectorFinding,
    ConnectorLook,
    ObjectFinding,
    ObjectLook,
    connector_fingerprint,
    connector_look,
    object_look,
)
from sessions_app.services.health.timing import next_check_after
from sessions_app.services.health.watch import account_watch
from sessions_app.services.instances import instance_set_status
from sessions_app.services.operations import Actor
from sessions_app.services.sessions import object_remember

_HEALTH_FIELDS = (
    "state",
    "reason",
    "changed_at",
    "checked_at",
    "failing_since",
    "object_etag",
    "object_key_fingerprint",
)


class CheckRunning(ActionRefused):
    default_message = "A check of this instance is running right now; its result shows here in a moment."


@dataclass(frozen=True)
class Verdict:
    result: Health
    reason: str
    keeps_reason: bool = False  # a state already settled keeps its reason (a revoke's "revoked by ...")


# The connector key changed while the check looked (a revoke or a login): what it saw is stale.
KEY_CHANGED = "The instance's session changed while it was checked (a revoke or a login); it is checked again shortly."


_OBJECT_REASONS = {
    ObjectFinding.REPLACED: "The session object now holds another key, written outside the dashboard: the connector "
    "will load that one. Verify adopts it; Save writes this instance's session back.",
    ObjectFinding.EMPTIED: "The session object was emptied outside the dashboard: a connector starting now is not "
    "logged in. Save writes this instance's session back.",
    ObjectFinding.REMOVED: "The session object was deleted outside the dashboard: a connector starting now is not "
    "logged in. Save writes this instance's session back.",
}


def verdict(obj: ObjectLook, connector: ConnectorLook, *, revoked: bool = False) -> Verdict:
    """The most serious thing found; "unreachable" only when nothing definite was.

    `revoked`: the dashboard revoked the instance on purpose (its connector key is gone), so "not
    logged in" is the revoke's "nothing to watch", worded by the revoke.
    """
    # The account's own state first: nothing else about it matters until Telegram lifts it.
    if connector.finding is ConnectorFinding.BANNED:
        return Verdict(Health.ACCOUNT_BANNED, connector.message)
    if connector.finding is ConnectorFinding.FROZEN:
        return Verdict(Health.ACCOUNT_FROZEN, connector.message)
    if connector.finding is ConnectorFinding.GONE:
        return Verdict(Health.CONNECTOR_GONE, connector.message or CONNECTOR_NOT_LISTED)
    if obj.finding.changed_outside:
        return Verdict(Health.OBJECT_CHANGED, _OBJECT_REASONS[obj.finding])
    if connector.finding is ConnectorFinding.DASHBOARD_KEY_LOST:
        return Verdict(Health.DASHBOARD_KEY_LOST, connector.message)
    if obj.finding is ObjectFinding.UNREACHABLE:
        return Verdict(Health.UNREACHABLE, obj.message)
    if connector.finding is ConnectorFinding.UNREACHABLE:
        return Verdict(Health.UNREACHABLE, connector.message)
    if connector.finding is ConnectorFinding.BUSY:
        return Verdict(Health.BUSY, connector.message)
    if connector.finding is ConnectorFinding.NOT_MINTED:
        return Verdict(Health.IDLE, connector.message)
    if connector.finding is ConnectorFinding.NO_KEY:
        if obj.finding is ObjectFinding.APPEARED:
            return Verdict(Health.IDLE, "Not logged in; the session object holds a key: Verify adopts it.")
        if revoked:
            return Verdict(Health.IDLE, REVOKED_REASON, keeps_reason=True)
        return Verdict(Health.IDLE, "Not logged in: nothing to watch.")
    if obj.finding is ObjectFinding.AS_KNOWN:
        return Verdict(Health.HEALTHY, "The connector's session works; it is not in the session store yet (Save).")
    return Verdict(Health.HEALTHY, "The connector's session works and the session object holds it.")


def _health_row(instance: ConnectorInstance) -> InstanceHealth:
    try:
        return InstanceHealth.objects.get_or_create(instance=instance)[0]
    except IntegrityError:  # created by another check at the same moment
        return InstanceHealth.objects.get(instance=instance)


def _claim(health: InstanceHealth, now: datetime) -> bool:
    """Mark the instance as being checked, unless a check (not a dead one) is running already."""
    # Long enough for the lease wait and a slow Telegram; a check dead for longer is taken over.
    until = now + timedelta(seconds=settings.TELEGRAM_LEASE_SECONDS + settings.TELEGRAM_LEASE_WAIT_SECONDS)
    claimed = (
        InstanceHealth.objects.filter(pk=health.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=until)
    )
    return claimed == 1


def _settle(health: InstanceHealth, found: Verdict, now: datetime) -> tuple[str, str] | None:
    """Apply one check's verdict to the instance's health; (previous, new) when the state changed."""
    if found.result is Health.BUSY:
        return None
    if found.result is Health.UNREACHABLE:
        health.failing_since = health.failing_since or now
        lasting = now - health.failing_since >= timedelta(seconds=settings.HEALTH_OUTAGE_ALERT_SECONDS)
        if not lasting:
            return None
    else:
        health.failing_since = None
    previous = health.state
    if not (found.keeps_reason and previous == found.result and revoke_worded(health.reason)):
        health.reason = found.reason
    if previous == found.result:
        return None
    health.state, health.changed_at = found.result, now
    return previous, found.result


def _set_status(
    *, instance: ConnectorInstance, actor: Actor, found: Verdict, obj: ObjectLook, previous: str | None
) -> None:
    """The instance's status follows what the check found (the one audited, broadcast path)."""
    status = instance.status
    if found.result is Health.CONNECTOR_GONE and status in (
        InstanceStatus.ACTIVE,
        InstanceStatus.UNSAVED,
        InstanceStatus.ERROR,
    ):
        instance_set_status(instance=instance, status=InstanceStatus.REVOKED, actor=actor, error=found.reason)
    elif found.result is Health.OBJECT_CHANGED and status == InstanceStatus.ACTIVE:
        instance_set_status(instance=instance, status=InstanceStatus.UNSAVED, actor=actor, error=found.reason)
    elif (
        found.result is Health.HEALTHY
        and previous in (Health.CONNECTOR_GONE, Health.OBJECT_CHANGED)
        and obj.finding in (ObjectFinding.UNCHANGED, ObjectFinding.REWRITTEN)
        and status in (InstanceStatus.REVOKED, InstanceStatus.UNSAVED)
    ):
        instance_set_status(instance=instance, status=InstanceStatus.ACTIVE, actor=actor)


def _remember(
    *, instance: ConnectorInstance, health: InstanceHealth, obj: ObjectLook, connector: ConnectorLook
) -> None:
    if obj.finding is not ObjectFinding.UNREACHABLE:
        health.object_etag = obj.info.etag if obj.info is not None else ""
        health.object_key_fingerprint = obj.fingerprint
    fields: list[str] = []
    if obj.finding is ObjectFinding.REWRITTEN:
        # The connector saved the same key again: the dashboard's next conditional write expects this ETag.
        fields += object_remember(instance, obj.info)
    if connector.active_at is not None and connector.active_at != instance.connector_active_at:
        instance.connector_active_at = connector.active_at
        fields.append("connector_active_at")
    if fields:
        instance.save(update_fields=fields)


def _prune(instance: ConnectorInstance) -> None:
    kept = settings.HEALTH_CHECKS_KEPT
    oldest_kept = (
        HealthCheck.objects.filter(instance=instance).order_by("-id").values_list("id", flat=True)[kept - 1 : kept]
    )
    cutoff = list(oldest_kept)
    if cutoff:
        HealthCheck.objects.filter(instance=instance, id__lt=cutoff[0]).delete()


def health_check(*, instance: ConnectorInstance, actor: Actor = None, trigger: str = "schedule") -> HealthCheck:
    """Check one instance now; CheckRunning when a check of it is already running."""
    health = _health_row(instance)
    started, clock = timezone.now(), time.monotonic()
    if not _claim(health, started):
        raise CheckRunning()
    result = Health.BUSY
    try:
        instance.refresh_from_db()
        health.refresh_from_db()
        key_before = connector_fingerprint(instance)
        obj = object_look(instance=instance, health=health)
        connector = connector_look(instance=instance, actor=actor)
        instance.refresh_from_db()  # the dashboard key may have been forgotten on the way
        stale = connector_fingerprint(instance) != key_before
        revoked = instance.status == InstanceStatus.REVOKED and not instance.session_string
        found = Verdict(Health.BUSY, KEY_CHANGED) if stale else verdict(obj, connector, revoked=revoked)
        result = found.result
        now = timezone.now()
        with transaction.atomic():
            # Read again, locked: a revoke may have settled the health while this check looked.
            health = InstanceHealth.objects.select_for_update().get(pk=health.pk)
            check = HealthCheck.objects.create(
                instance=instance,
                started_at=started,
                duration_ms=round((time.monotonic() - clock) * 1000),
                trigger=trigger,
                actor=actor if actor is not None and actor.is_authenticated else None,
                result=found.result,
                object_finding=obj.finding,
                connector_finding=connector.finding,
                connector_active_at=connector.active_at,
                reason=found.reason,
            )
            if not stale:
                _remember(instance=instance, health=health, obj=obj, connector=connector)
                if connector.view is not None:
                    account_watch(instance=instance, view=connector.view, at=now)
            previous_state = health.state
            transition = _settle(health, found, now)
            if found.result is not Health.BUSY:  # nothing was checked then
                health.checked_at = now
            health.save(update_fields=_HEALTH_FIELDS)
            _set_status(instance=instance, actor=actor, found=found, obj=obj, previous=previous_state)
            if transition is not None:
                previous, state = transition
                audit_record(
                    instance=instance, actor=actor, action="health.change", detail={"from": previous, "to": state}
                )
                event = alert_event(previous, state)
                if event is not None:
                    alerts_queue(
                        instance=instance, event=event, previous=previous, state=state, reason=health.reason, at=now
                    )
            _prune(instance)
        return check
    finally:
        InstanceHealth.objects.filter(pk=health.pk).update(
            claimed_until=None, next_check_at=next_check_after(instance.session, result, timezone.now())
        )
