"""The instance's two authorizations: minting the dashboard's own, adopting a key, one key per instance.

The connector's key (the store object) is used here once, in one short connection, to mint the
dashboard's key (sessions_app.telegram.mint); everything else runs on the dashboard's key.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.crypto import fingerprint
from sessions_app.models import ConnectorInstance
from sessions_app.models_watch import AuthorizationOrigin, WatchedAuthorization
from sessions_app.selectors.access import role_of
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import ActionRefused, KeyInUse, NoSession
from sessions_app.services.instances import instance_remember_account
from sessions_app.services.operations import Actor, telegram_operation
from sessions_app.telegram.account import Account, log_out
from sessions_app.telegram.client import KeyRole, auth_key_of
from sessions_app.telegram.errors import TelegramError
from sessions_app.telegram.mint import Minted, mint_dashboard_key


def key_fingerprint(session_string: str) -> str:
    """A keyed hash (HMAC) of the auth key inside a session string: equal keys, equal fingerprints."""
    return fingerprint("auth-key:" + auth_key_of(session_string).hex())


def key_owner(*, session_string: str, exclude: ConnectorInstance | None = None) -> ConnectorInstance | None:
    """The instance that already holds this key (as its connector's or dashboard's), if any."""
    fp = key_fingerprint(session_string)
    owners = ConnectorInstance.objects.filter(Q(connector_key_fingerprint=fp) | Q(dashboard_key_fingerprint=fp))
    if exclude is not None:
        owners = owners.exclude(pk=exclude.pk)
    return owners.only("session", "name").first()


def key_check_unclaimed(*, instance: ConnectorInstance, session_string: str, user: User | None) -> None:
    """KeyInUse, before any connection is made, when another instance holds this key."""
    other = key_owner(session_string=session_string, exclude=instance)
    if other is None:
        return
    visible = user is not None and role_of(user, other) is not None
    where = f"the instance {other.session} ({other.name})" if visible else "another instance (one you cannot see)"
    raise KeyInUse(
        f"This session's key already belongs to {where}. One key can serve one instance only: "
        "using it from two places makes Telegram destroy it. Log this instance in with its own login instead."
    )


def _keep_minted(*, instance: ConnectorInstance, minted: Minted, connector_session: str) -> tuple[str, ...]:
    instance.dashboard_session = minted.session
    instance.dashboard_key_fingerprint = key_fingerprint(minted.session)
    instance.dashboard_authorization_hash = minted.dashboard_hash
    instance.connector_authorization_hash = minted.connector_hash
    instance.connector_key_fingerprint = key_fingerprint(connector_session)
    instance.dashboard_minted_at = timezone.now()
    instance.dashboard_key_error = ""
    return (
        "dashboard_session",
        "dashboard_key_fingerprint",
        "dashboard_authorization_hash",
        "connector_authorization_hash",
        "connector_key_fingerprint",
        "dashboard_minted_at",
        "dashboard_key_error",
    )


def _remember_replaced_dashboard(*, instance: ConnectorInstance, old_hash: int | None) -> None:
    """The replaced dashboard key's authorization stays the instance's own in the security watch.

    Its logout comes after and may go unconfirmed: while Telegram still lists it, the watch must not
    take it for a stranger's login (it drops the row once the authorization is no longer listed).
    """
    if not old_hash or old_hash == instance.dashboard_authorization_hash:
        return
    WatchedAuthorization.objects.get_or_create(
        instance=instance,
        authorization_hash=old_hash,
        defaults={
            "origin": AuthorizationOrigin.OWN,
            "first_seen_at": timezone.now(),
            "description": "the dashboard's key before a re-mint",
        },
    )


def key_retire(*, instance: ConnectorInstance, actor: Actor, old: str, role: KeyRole = KeyRole.DASHBOARD) -> bool:
    """A replaced key is logged out, so no live authorization is left untracked; False if Telegram did not confirm."""
    if not old:
        return True
    try:
        with telegram_operation(
            instance=instance, actor=actor, action=f"{role}_key.retire", role=role, session=old, marks_dead=False
        ) as op:
            log_out(session=op.session, api=op.api, label=op.label)
    except (TelegramError, ActionRefused):
        return False  # audited by telegram_operation
    audit_record(instance=instance, actor=actor, action=f"{role}_key.retire")
    return True


def _mint(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    connector_session: str | None,
    password: str | None,
    action: str,
    marks_dead: bool = True,
) -> tuple[Minted, str]:
    with telegram_operation(
        instance=instance,
        actor=actor,
        action=action,
        role=KeyRole.CONNECTOR,
        session=connector_session,
        marks_dead=marks_dead,
    ) as op:
        minted = mint_dashboard_key(
            connector_session=op.session,
            api=op.api,
            session_name=instance.session,
            password=password,
            proxy=op.label.proxy,
        )
        return minted, op.session


def dashboard_key_mint(*, instance: ConnectorInstance, actor: Actor, password: str | None = None) -> ConnectorInstance:
    """Mint (or mint again) the dashboard's own key from the instance's connector key."""
    if not instance.session_string:
        raise NoSession()
    old, old_hash = instance.dashboard_session, instance.dashboard_authorization_hash
    try:
        minted, connector_session = _mint(
            instance=instance, actor=actor, connector_session=None, password=password, action="dashboard_key.mint"
        )
    except TelegramError as error:
        instance.dashboard_key_error = error.message
        instance.save(update_fields=["dashboard_key_error", "updated_at"])
        raise
    with transaction.atomic():
        fields = _keep_minted(instance=instance, minted=minted, connector_session=connector_session)
        instance.save(update_fields=[*fields, "updated_at"])
        _remember_replaced_dashboard(instance=instance, old_hash=old_hash if old else None)
        audit_record(instance=instance, actor=actor, action="dashboard_key.mint", detail={"replaced": bool(old)})
    key_retire(instance=instance, actor=actor, old=old)
    return instance


def dashboard_key_mint_after_login(*, instance: ConnectorInstance, actor: Actor, password: str | None) -> str:
    """Mint right after a login; a failure leaves the login done and is returned as a sentence."""
    try:
        dashboard_key_mint(instance=instance, actor=actor, password=password)
    except (TelegramError, NoSession) as error:
        return error.message
    return ""


def instance_adopt_key(
    *,
    instance: ConnectorInstance,
    actor: Actor,
    session_string: str,
    action: str,
    password: str | None = None,
    user: User | None = None,
    marks_dead: bool = False,
) -> tuple[ConnectorInstance, Account]:
    """A key the dashboard did not create becomes the instance's connector key.

    Refused (KeyInUse) before any connection when another instance holds it. Otherwise the key is
    used once, in one short connection, to mint the dashboard's key and learn the account and
    which authorization it is. The caller writes the object and the status.
    """
    key_check_unclaimed(instance=instance, session_string=session_string, user=user)
    old, old_hash = instance.dashboard_session, instance.dashboard_authorization_hash
    old_connector = instance.session_string if instance.session_string != session_string else ""
    minted, _ = _mint(
        instance=instance,
        actor=actor,
        connector_session=session_string,
        password=password,
        action=action,
        marks_dead=marks_dead,
    )
    try:
        with transaction.atomic():
            instance.session_string = session_string
            fields = _keep_minted(instance=instance, minted=minted, connector_session=session_string)
            fields = (*fields, *instance_remember_account(instance, minted.account))
            instance.save(update_fields=["session_string", *fields, "updated_at"])
            _remember_replaced_dashboard(instance=instance, old_hash=old_hash if old else None)
    except IntegrityError:
        # Another instance claimed the same key a moment ago: undo the mint, keep nothing.
        key_retire(instance=instance, actor=actor, old=minted.session)
        instance.refresh_from_db()
        key_check_unclaimed(instance=instance, session_string=session_string, user=user)
        raise
    key_retire(instance=instance, actor=actor, old=old)
    # The connector key it replaces would otherwise stay authorized with nobody holding it.
    key_retire(instance=instance, actor=actor, old=old_connector, role=KeyRole.CONNECTOR)
    return instance, minted.account
