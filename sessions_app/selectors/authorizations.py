"""Reads for the account's authorizations: whose key each one is, and what the security watch knows of it."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from sessions_app.models import ConnectorInstance, Membership
from sessions_app.models_watch import WatchedAuthorization
from sessions_app.telegram.account import Authorization


def authorization_owners(*, instance: ConnectorInstance, hashes: Iterable[int]) -> dict[int, ConnectorInstance]:
    """Authorization hash -> the other instance whose connector or dashboard key it is.

    Matched by hash alone: the hashes come from this account's own list, so a match can only be
    another instance's key on the same account, whatever that instance recorded of its account.
    """
    wanted = {value for value in hashes if value}
    if not wanted:
        return {}
    others = (
        ConnectorInstance.objects.exclude(pk=instance.pk)
        .filter(Q(connector_authorization_hash__in=wanted) | Q(dashboard_authorization_hash__in=wanted))
        .only("session", "name", "connector_authorization_hash", "dashboard_authorization_hash")
    )
    owners: dict[int, ConnectorInstance] = {}
    for other in others:
        for value in (other.connector_authorization_hash, other.dashboard_authorization_hash):
            if value in wanted:
                owners[value] = other
    return owners


def authorizations_watched(*, instance: ConnectorInstance) -> dict[int, WatchedAuthorization]:
    """Authorization hash -> what the security watch recorded of it (seen, alerted, marked as known by whom)."""
    rows = WatchedAuthorization.objects.filter(instance=instance).select_related("known_by")
    return {row.authorization_hash: row for row in rows}


def instances_visible(*, user: User | AnonymousUser | None, instances: Iterable[ConnectorInstance]) -> set[int]:
    """The ids of these instances the user may see (superusers see all)."""
    ids = {item.pk for item in instances}
    if user is None or not user.is_authenticated or not ids:
        return set()
    if user.is_superuser:
        return ids
    return set(Membership.objects.filter(user=user, instance_id__in=ids).values_list("instance_id", flat=True))


def authorization_words(item: Authorization) -> tuple[str, str, str]:
    """(device, app, where) as a person reads them: "iPhone 15 Pro", "Telegram iOS 12.2", "198.51.100.23 (NL)"."""
    device = item.device_model or item.platform or "an unnamed device"
    app = " ".join(part for part in (item.app_name, item.app_version) if part) or f"API id {item.api_id}"
    where = f"{item.ip} ({item.country})" if item.country else item.ip or "an unknown address"
    return device, app, where
