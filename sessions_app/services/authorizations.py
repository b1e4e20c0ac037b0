"""The account's active sessions (account.getAuthorizations) and terminating them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser

from sessions_app.models import ConnectorInstance, InstanceStatus
from sessions_app.services.audit import audit_record
from sessions_app.services.instances import instance_credentials, instance_set_status
from sessions_app.services.lease import telegram_lease
from sessions_app.telegram import client as telegram
from sessions_app.telegram.errors import NotAuthorized, SessionRevoked, TelegramError

T = TypeVar("T")


class NoSession(TelegramError):
    default_message = "This instance has no working session: log it in first."


def _with_session(
    instance: ConnectorInstance, actor: AbstractBaseUser | None, purpose: str, call: Callable[[str], T]
) -> T:
    """Run `call(session_string)` under the lease; a dead session flips the instance's status."""
    if not instance.session_string:
        raise NoSession()
    try:
        with telegram_lease(session=instance.session, purpose=purpose):
            return call(instance.session_string)
    except (SessionRevoked, NotAuthorized) as dead:
        status = InstanceStatus.EXPIRED if getattr(dead, "reason", "") == "expired" else InstanceStatus.REVOKED
        instance_set_status(instance=instance, status=status, actor=actor, error=dead.message)
        raise


def authorizations_list(*, instance: ConnectorInstance, actor: AbstractBaseUser | None) -> list[telegram.Authorization]:
    api = instance_credentials(instance)
    items = _with_session(instance, actor, "authorizations", lambda s: telegram.list_authorizations(session=s, api=api))
    return sorted(
        items, key=lambda item: (not item.current, -(item.date_active.timestamp() if item.date_active else 0))
    )


def authorization_terminate(*, instance: ConnectorInstance, actor: AbstractBaseUser, authorization_hash: int) -> None:
    api = instance_credentials(instance)
    try:
        _with_session(
            instance,
            actor,
            "terminate",
            lambda s: telegram.terminate_authorization(session=s, api=api, authorization_hash=authorization_hash),
        )
    except TelegramError as error:
        audit_record(
            instance=instance,
            actor=actor,
            action="authorization.terminate",
            outcome="refused",
            detail={"hash": str(authorization_hash), "error": type(error).__name__},
        )
        raise
    audit_record(
        instance=instance, actor=actor, action="authorization.terminate", detail={"hash": str(authorization_hash)}
    )


def authorizations_terminate_others(*, instance: ConnectorInstance, actor: AbstractBaseUser) -> None:
    api = instance_credentials(instance)
    try:
        _with_session(
            instance, actor, "terminate_others", lambda s: telegram.terminate_other_authorizations(session=s, api=api)
        )
    except TelegramError as error:
        audit_record(
            instance=instance,
            actor=actor,
            action="authorization.terminate_others",
            outcome="refused",
            detail={"error": type(error).__name__},
        )
        raise
    audit_record(instance=instance, actor=actor, action="authorization.terminate_others")
