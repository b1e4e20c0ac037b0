"""The security watch: what one check's look at the account says beyond the connector's health.

It runs inside the check's transaction on the look the check already made (no request of its
own), and queues each finding once, as a notice (alerts.NOTICE_EVENTS):

- ``new_authorization``: an authorization that is none of this instance's two keys, no other
  instance's key and not already seen. What is listed at the first look, and at the first look
  after the connector's key changed (a login, an import), is the baseline: recorded, not alerted.
- ``two_step_disabled``: two-step verification switched off, switched on (by whoever holds a
  session: with their own recovery email, the usual takeover of an account without it), its
  recovery or login email changed, or a reset of its password requested (account.resetPassword:
  Telegram removes the password at ``pending_reset_date`` unless the owner declines), since the
  last look (account.getPassword, read with the dashboard's key).
- ``connector_moved``: the connector's authorization shows another country than last time.

The account banned or frozen is a health result, not a notice: the check's verdict has it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils.timesince import timesince

from sessions_app.models import ConnectorInstance
from sessions_app.models_watch import AccountWatch, AuthorizationOrigin, WatchedAuthorization
from sessions_app.selectors.authorizations import authorization_owners, authorization_words
from sessions_app.services.health.alerts import alert_notice_queue
from sessions_app.services.health.probe import connector_fingerprint
from sessions_app.telegram.account import AccountSecurity, AccountView, Authorization

_SECURITY_FIELDS = ("two_step", "recovery_email", "login_email", "email_pending", "reset_pending")
_DECLINE_WHERE = "Settings > Privacy and Security > Two-Step Verification"


def _ago(created: datetime | None, at: datetime) -> str:
    if created is None:
        return "at an unknown time"
    if at - created < timedelta(minutes=1):
        return "just now"
    return timesince(created, at, depth=1).replace("\xa0", " ") + " ago"


def _authorization_details(item: Authorization) -> dict[str, Any]:
    return {
        "device": item.device_model,
        "platform": item.platform,
        "app": " ".join(part for part in (item.app_name, item.app_version) if part),
        "api_id": item.api_id,
        "ip": item.ip,
        "country": item.country,
        "created": item.date_created.isoformat() if item.date_created is not None else None,
    }


def _new_authorization(*, instance: ConnectorInstance, item: Authorization, at: datetime) -> None:
    device, app, where = authorization_words(item)
    alert_notice_queue(
        instance=instance,
        event="new_authorization",
        text=f"A new login on {instance.name}: {device}, {app}, from {where}, {_ago(item.date_created, at)}.",
        details={"authorization": _authorization_details(item)},
        at=at,
    )


def _row(
    instance: ConnectorInstance, item: Authorization, origin: str, at: datetime, alerted: bool = False
) -> WatchedAuthorization:
    device, app, where = authorization_words(item)
    return WatchedAuthorization(
        instance=instance,
        authorization_hash=item.hash,
        origin=origin,
        first_seen_at=at,
        description=f"{device}, {app}, {where}"[:300],
        alerted_at=at if alerted else None,
    )


def _alerted_elsewhere(instance: ConnectorInstance, hashes: list[int]) -> set[int]:
    """Of these, the authorizations another instance on the same account already alerted: one alert per login."""
    if not hashes or instance.telegram_user_id is None:
        return set()
    rows = (
        WatchedAuthorization.objects.filter(
            authorization_hash__in=hashes, instance__telegram_user_id=instance.telegram_user_id
        )
        .exclude(instance=instance)
        .exclude(alerted_at=None)
    )
    return set(rows.values_list("authorization_hash", flat=True))


def _authorizations(*, instance: ConnectorInstance, view: AccountView, baseline: bool, at: datetime) -> None:
    listed = {item.hash: item for item in view.authorizations if item.hash and not item.current}
    own = {value for value in (instance.connector_authorization_hash, instance.dashboard_authorization_hash) if value}
    seen = dict(WatchedAuthorization.objects.filter(instance=instance).values_list("authorization_hash", "id"))
    # Ended authorizations are forgotten (Telegram never lists a hash again); this instance's own two
    # are kept even where the list cannot show them (the dashboard's own shows as "current", hash 0),
    # so an old dashboard key that outlives a re-mint is still known as the dashboard's.
    ended = [row_id for value, row_id in seen.items() if value not in listed and value not in own]
    if ended:
        WatchedAuthorization.objects.filter(id__in=ended).delete()
    rows = [
        _row(instance, listed[value], AuthorizationOrigin.OWN, at)
        if value in listed
        else WatchedAuthorization(
            instance=instance, authorization_hash=value, origin=AuthorizationOrigin.OWN, first_seen_at=at
        )
        for value in own - seen.keys()
    ]
    fresh = [value for value in listed if value not in seen and value not in own]
    if fresh and baseline:
        rows += [_row(instance, listed[value], AuthorizationOrigin.BASELINE, at) for value in fresh]
    elif fresh:
        others = authorization_owners(instance=instance, hashes=fresh)  # checked at each look: never recorded
        new = [value for value in fresh if value not in others]
        elsewhere = _alerted_elsewhere(instance, new)
        for value in new:
            alert = value not in elsewhere
            rows.append(_row(instance, listed[value], AuthorizationOrigin.NEW, at, alerted=alert))
            if alert:
                _new_authorization(instance=instance, item=listed[value], at=at)
    if rows:
        WatchedAuthorization.objects.bulk_create(rows, ignore_conflicts=True)


def _connector_moved(
    *, instance: ConnectorInstance, watch: AccountWatch, view: AccountView, baseline: bool, at: datetime
) -> bool:
    """Notice the connector's authorization in another country; True when the watch row changed."""
    connector = next(
        (item for item in view.authorizations if item.hash == instance.connector_authorization_hash and item.hash),
        None,
    )
    if connector is None or not connector.country or connector.country == watch.connector_country:
        return False
    previous, watch.connector_country = watch.connector_country, connector.country
    if previous and not baseline:
        alert_notice_queue(
            instance=instance,
            event="connector_moved",
            text=f"The connector of {instance.name} now connects from {connector.ip} ({connector.country}); "
            f"it connected from {previous} before.",
            details={"connector": {"ip": connector.ip, "country": connector.country, "previous_country": previous}},
            at=at,
        )
    return True


def _security_change(watch: AccountWatch, security: AccountSecurity) -> str:
    """What changed in the account's two-step verification, in words ("" for nothing worth an alert)."""
    if watch.two_step is None:
        return ""  # the first look: what is there is the baseline
    if watch.two_step and not security.two_step:
        return "two-step verification was switched off: a login code alone now opens the account"
    if security.two_step and not watch.two_step:
        return "two-step verification was switched on from a session: check the recovery email is the team's"
    changes = []
    if security.two_step and watch.two_step:
        if security.recovery_email != watch.recovery_email or security.email_pending != watch.email_pending:
            changes.append("its recovery email changed")
        if security.reset_pending is not None and security.reset_pending != watch.reset_pending:
            changes.append(
                "a reset of its two-step verification password was requested: Telegram removes the password on "
                f"{security.reset_pending:%Y-%m-%d %H:%M} UTC unless the owner declines the reset in the official "
                f"app ({_DECLINE_WHERE})"
            )
    if security.login_email != watch.login_email:
        changes.append("its login email changed")
    return " and ".join(changes)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _two_step(*, instance: ConnectorInstance, watch: AccountWatch, security: AccountSecurity, at: datetime) -> bool:
    """Alert a weakened two-step verification once; True when the watch row changed."""
    state = {name: getattr(security, name) for name in _SECURITY_FIELDS}
    if all(getattr(watch, name) == value for name, value in state.items()):
        return False
    change = _security_change(watch, security)
    was = {name: _jsonable(getattr(watch, name)) for name in _SECURITY_FIELDS}
    for name, value in state.items():
        setattr(watch, name, value)
    watch.security_seen_at = at
    if change:
        alert_notice_queue(
            instance=instance,
            event="two_step_disabled",
            text=f"On {instance.name}, {change}.",
            details={"two_step": {**{name: _jsonable(value) for name, value in state.items()}, "previous": was}},
            at=at,
        )
    return True


def account_watch(*, instance: ConnectorInstance, view: AccountView, at: datetime) -> None:
    """Record what the check saw of the account and queue each new finding once (inside the check's transaction)."""
    watch = AccountWatch.objects.filter(instance=instance).first() or AccountWatch(instance=instance)
    key = connector_fingerprint(instance)
    baseline = watch.connector_key_fingerprint != key
    changed = watch._state.adding
    _authorizations(instance=instance, view=view, baseline=baseline, at=at)
    if baseline:
        watch.connector_key_fingerprint, watch.baseline_at, changed = key, at, True
    changed |= _connector_moved(instance=instance, watch=watch, view=view, baseline=baseline, at=at)
    if view.security is not None:
        changed |= _two_step(instance=instance, watch=watch, security=view.security, at=at)
    if changed:
        watch.save()
