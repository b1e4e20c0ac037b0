"""Logging an instance in without the phone-and-code steps: importing a string, or a QR code.

Both end like the code flow (services.login): the connector's key kept, the object written, the
dashboard's own key minted; both run under the instance's lease with the state re-read.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sessions_app.models import ConnectorInstance, InstanceStatus, LoginStep, PendingLogin
from sessions_app.selectors.instances import pending_login_for
from sessions_app.services.audit import audit_record
from sessions_app.services.errors import LoginRefused
from sessions_app.services.instances import instance_set_status
from sessions_app.services.keys import instance_adopt_key, key_check_unclaimed
from sessions_app.services.login import already_logged_in, login_complete, to_password_step
from sessions_app.services.operations import Actor, Operation, telegram_operation
from sessions_app.services.sessions import same_key, session_save_after_login
from sessions_app.telegram import login as telegram
from sessions_app.telegram.client import KeyRole
from sessions_app.telegram.demo import demo_approve_qr
from sessions_app.telegram.errors import PasswordNeeded


def session_import(
    *, instance: ConnectorInstance, actor: User, session_string: str, password: str | None = None
) -> ConnectorInstance:
    """Adopt a session string made elsewhere: refused when another instance holds its key, else one
    short connection mints the dashboard's key with it (and proves it works).

    `password` is the account's 2FA password, needed for the mint when the account has one; it is
    used in that connection only. Without it (or wrong) nothing is made and nothing changes.

    Under the instance's lease with the state re-read: a second submit of the same string finds it
    imported; a different string imported meanwhile is replaced in the DB and the store together,
    and its key is logged out (never left authorized with nobody holding it).
    """
    key_check_unclaimed(instance=instance, session_string=session_string, user=actor)
    with telegram_operation(
        instance=instance,
        actor=actor,
        action="session.import",
        role=KeyRole.CONNECTOR,
        session=session_string,
        marks_dead=False,
    ):
        if instance.dashboard_session and same_key(instance.session_string, session_string):
            return instance  # a double submit: the first one imported it
        instance_adopt_key(
            instance=instance,
            actor=actor,
            session_string=session_string,
            action="session.import",
            password=password,
            user=actor,
        )
        with transaction.atomic():
            PendingLogin.objects.filter(instance=instance).delete()
            instance.flood_wait_until = None
            instance_set_status(
                instance=instance, status=InstanceStatus.ACTIVE, actor=actor, fields=("flood_wait_until",)
            )
            audit_record(
                instance=instance,
                actor=actor,
                action="login.import",
                detail={"telegram_user_id": instance.telegram_user_id},
            )
        session_save_after_login(instance=instance, actor=actor)
    return instance


def _qr_key(instance: ConnectorInstance) -> str:
    pending = pending_login_for(instance)
    if pending is not None and pending.step not in (LoginStep.QR, LoginStep.PASSWORD):
        raise LoginRefused("A login with the phone number is in progress for this instance. Finish or cancel it first.")
    return pending.session_string if pending is not None and pending.step == LoginStep.QR else ""


QR_LOGIN_ENDED = (
    "This QR login is no longer waiting for a scan: it was finished or cancelled, perhaps in another tab. "
    "Nothing new was started; show a new QR code if you still need one."
)
# A code this close to its expiry is not shown: it would be dead before anyone could scan it.
QR_EXPIRY_MARGIN = timedelta(seconds=2)


def qr_code_expiring(pending: PendingLogin) -> bool:
    """The pending QR code is past its expiry, or within QR_EXPIRY_MARGIN of it: show a fresh one instead."""
    return pending.qr_expires is None or pending.qr_expires <= timezone.now() + QR_EXPIRY_MARGIN


def login_qr_poll(
    *, instance: ConnectorInstance, actor: User, start: bool = True, login: int | None = None
) -> PendingLogin | None:
    """Start or check a QR login: returns the pending state, or None once this login is finished.

    Each call is one auth.exportLoginToken on a fresh client, like every other login step (an expired
    token comes back renewed). A poll (`start=False`, from a page showing a code, with `login`, the
    id of the pending login that page shows) never restarts a login, however late it comes: after
    the scan it finds the password step, or that very login finished (by another tab) a moment ago;
    anything else is refused with QR_LOGIN_ENDED.
    """
    with _qr_operation(instance, actor) as op:
        pending = pending_login_for(instance)
        if pending is not None and pending.step == LoginStep.PASSWORD:
            return pending  # scanned; the password step comes next
        if pending is None and login is not None and already_logged_in(instance, login=login):
            return None  # another tab finished this login a moment ago
        if pending is None and not start:
            raise LoginRefused(QR_LOGIN_ENDED)
        try:
            result = telegram.qr_poll(session=op.session, api=op.api, label=op.label)
        except PasswordNeeded as needed:
            if pending is None:
                pending = PendingLogin(instance=instance, previous_status=instance.status, started_by=actor)
            to_password_step(instance=instance, actor=actor, pending=pending, needed=needed, action="login.qr")
            return pending
        if isinstance(result, telegram.SignedIn):
            login_complete(instance=instance, actor=actor, signed_in=result, method="qr")
            return None
        if pending is None:
            pending = PendingLogin(
                instance=instance, step=LoginStep.QR, previous_status=instance.status, started_by=actor
            )
            audit_record(instance=instance, actor=actor, action="login.qr", outcome="token")
        pending.session_string, pending.qr_url, pending.qr_expires = result.session, result.url, result.expires
        pending.save()
        return pending


def login_qr_demo_scan(
    *, instance: ConnectorInstance, actor: User, phone: str, login: int | None = None
) -> PendingLogin | None:
    """The demo page's "scan with this demo account's phone", then the poll that finds the scan.

    Like a real scan it only approves the code the page shows, and only in demo mode; it runs under
    the instance's lease (the pending login cannot change meanwhile) and is audited. Returns what
    login_qr_poll returns.
    """
    with telegram_operation(
        instance=instance,
        actor=actor,
        action="login.qr_demo_scan",
        role=KeyRole.CONNECTOR,
        session=_qr_key,
        marks_dead=False,
    ):
        pending = pending_login_for(instance)
        if pending is None or pending.step != LoginStep.QR or (login is not None and pending.pk != login):
            raise LoginRefused(QR_LOGIN_ENDED)
        demo_approve_qr(qr_url=pending.qr_url, phone=phone)
        audit_record(instance=instance, actor=actor, action="login.qr_demo_scan")
        return login_qr_poll(instance=instance, actor=actor, start=False, login=pending.pk)


def _qr_operation(instance: ConnectorInstance, actor: Actor) -> AbstractContextManager[Operation]:
    return telegram_operation(
        instance=instance, actor=actor, action="login.qr", role=KeyRole.CONNECTOR, session=_qr_key, marks_dead=False
    )
